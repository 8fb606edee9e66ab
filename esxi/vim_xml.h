/*
 * libxml2 helpers for the vSphere SOAP client.
 *
 * Contract:
 * - vim_xml_parse() is the only way server XML enters the program: the input
 *   must fit the size cap, the network is never touched (XML_PARSE_NONET),
 *   entities are never substituted, and a document with a DOCTYPE is refused
 *   (SOAP has none; refusing it shuts out entity-expansion attacks).
 * - Element lookups match the local name and ignore the namespace prefix:
 *   vCenter and the simulator use different prefixes for the same namespace.
 * - xsi:type is read by namespace URI, so both `xsi:type` and vcsim's
 *   `XMLSchema-instance:type` spellings work; the value's prefix ("vim25:")
 *   is stripped.
 * - Strings returned by *_dup functions are owned (free()); nodes are borrowed
 *   from their document and die with it.
 */
#ifndef POP_VIM_XML_H
#define POP_VIM_XML_H

#include <stdbool.h>
#include <stddef.h>

#include <libxml/tree.h>

#include "lib/compiler.h"
#include "lib/err.h"

#define VIM_XSI_NS "http://www.w3.org/2001/XMLSchema-instance"

/* Parses len bytes into *out (free with xmlFreeDoc); PERR_PROTOCOL on bad or hostile input. */
int vim_xml_parse(const char *data, size_t len, size_t max, xmlDoc **out, struct perr *err);

/* First element child of parent with this local name (any namespace), or NULL. */
xmlNode *vim_xml_child(const xmlNode *parent, const char *name);
/* Next element sibling after node with the same local name, or NULL. */
xmlNode *vim_xml_next_same(const xmlNode *node);
/* First element child whatever its name, or NULL. */
xmlNode *vim_xml_first_element(const xmlNode *parent);
/* Follows a '/'-separated path of local names from parent ("info/vmfs/extent"). */
xmlNode *vim_xml_path(const xmlNode *parent, const char *path);

/* Owned text content of node (never NULL on success; "" for an empty element). */
int vim_xml_text_dup(const xmlNode *node, char **out, struct perr *err);
/* Owned text of parent/path, or NULL when the element is absent (not an error). */
char *vim_xml_path_text(const xmlNode *parent, const char *path) ATTR_MALLOC(free);
/* The xsi:type of node without its prefix (owned), or NULL when absent. */
char *vim_xml_xsi_type(const xmlNode *node) ATTR_MALLOC(free);

/* True when node's local name equals name. */
bool vim_xml_is(const xmlNode *node, const char *name);

#endif
