/* Runs czmq's own self-tests, which libczmq exports as `<class>_test (bool verbose)`:
 *
 *     czmq_selftest zsock zpoller ...
 *
 * Not linked against any libzmq: libczmq brings the one the dynamic loader finds under the
 * name libzmq.so.5, which bindings/tests/czmq.rs points at libsock. Exits 77 when libczmq
 * is not installed (Debian: libczmq4). A failed self-test aborts (czmq asserts). */
#include <dlfcn.h>
#include <stdbool.h>
#include <stdio.h>

int main (int argc, char **argv)
{
    void *czmq = dlopen ("libczmq.so.4", RTLD_NOW);
    if (!czmq) {
        printf ("SKIP: libczmq.so.4 not loadable: %s\n", dlerror ());
        return 77;
    }
    for (int i = 1; i < argc; i++) {
        char name[128];
        snprintf (name, sizeof name, "%s_test", argv[i]);
        void (*selftest) (bool) = (void (*) (bool)) dlsym (czmq, name);
        if (!selftest) {
            fprintf (stderr, "libczmq has no %s\n", name);
            return 2;
        }
        selftest (false);
        printf ("%s passed\n", name);
    }
    return 0;
}
