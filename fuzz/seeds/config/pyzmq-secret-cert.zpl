#   ****  Generated on 2026-12-07 00:40:31.827857 by pyzmq  ****
#   ZeroMQ CURVE **Secret** Certificate
#   DO NOT PROVIDE THIS FILE TO OTHER USERS nor change its permissions.

metadata
curve
    public-key = "bcJ7IVh*j=qX#8&:Od$JOgU&FLO)ky6Dgp^xb#7y"
    secret-key = "kkYi(/RuN/==h&5/L-fML=jdc9$ofl2BZ$!s=wsa"
