/*
 * The ESXi-side wrapper script, embedded in the binary at build time.
 *
 * The same bytes are uploaded to /vmfs/volumes/<ds>/secure-vmkfstools-wrapper
 * for the ssh clone method and packed into the VIB for the vib method, so the
 * program always knows exactly which wrapper version it drives.
 */
#ifndef POP_ESXI_WRAPPER_H
#define POP_ESXI_WRAPPER_H

#include <stddef.h>

/* The script bytes (not NUL-terminated) and their length. */
const unsigned char *esxi_wrapper_script(size_t *len);

/* The script's SCRIPT_VERSION value ("0.5.0"), read once from the embedded
 * bytes; "dev" when the script carries none.  Static storage. */
const char *esxi_wrapper_version(void);

#endif
