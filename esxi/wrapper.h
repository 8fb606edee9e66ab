/*
 * The ESXi-side wrapper script, embedded in the binary at build time.
 *
 * The same bytes are uploaded to /vmfs/volumes/<ds>/secure-vmkfstools-wrapper
 * for the ssh clone method and packed into the VIB for the vib method, so the
 * program always knows exactly which wrapper version it drives.
 */
#ifndef POP_ESXI_WRAPPER_H
#define POP_ESXI_WRAPPER_H

#include <stdbool.h>
#include <stddef.h>

/* The script bytes (not NUL-terminated) and their length. */
const unsigned char *esxi_wrapper_script(size_t *len);

/* The script's SCRIPT_VERSION value ("0.5.1.2"), read once from the embedded
 * bytes; "dev" when the script carries none.  Static storage. */
const char *esxi_wrapper_version(void);

/*
 * Mixed fleets: hosts shared with the Go populator, whose wrapper and VIB
 * carry three-part versions (0.3.3).  This product's versions have four
 * parts with a non-zero last one (see the header of vmkfstools-wrapper.sh),
 * so they never equal an upstream release and compare (dotted, "1.0" ==
 * "1.0.0", as both products compare) above WRAPPER_UPSTREAM_VERSION, the
 * newest upstream wrapper release.  Whoever finds a wrapper or VIB newer than
 * its own leaves it in place.
 */
#define WRAPPER_UPSTREAM_VERSION "0.3.3"

/* True when v has this product's form: four dotted numbers, the last non-zero. */
bool esxi_wrapper_version_is_ours(const char *v);

#endif
