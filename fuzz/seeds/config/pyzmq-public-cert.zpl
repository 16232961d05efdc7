#   ****  Generated on 2026-12-07 00:40:31.827857 by pyzmq  ****
#   ZeroMQ CURVE Public Certificate
#   Exchange securely, or use a secure mechanism to verify the contents
#   of this file after exchange. Store public certificates in your home
#   directory, in the .curve subdirectory.

metadata
curve
    public-key = "bcJ7IVh*j=qX#8&:Od$JOgU&FLO)ky6Dgp^xb#7y"
