/*
 * The vSphere SOAP session: one vCenter (or ESXi) endpoint, one login.
 *
 * Contract:
 * - vim_open() normalises the host ("vc", "vc:443", "https://vc/sdk" all
 *   work; https:// and /sdk are added when missing), retrieves the
 *   ServiceContent and logs in.  The session cookie is kept by the HTTP
 *   transport's cookie engine and sent on every call and on /folder uploads.
 * - vim_call() sends one method.  `params` is the XML of the method's
 *   arguments after _this, already escaped by the caller with buf_add_xml();
 *   no caller ever formats raw values into XML.
 * - Faults become errors: the fault type is read from the detail's xsi:type by
 *   namespace URI and kept in err->remote_code ("NotAuthenticated",
 *   "InvalidLogin", "ManagedObjectNotFound", ...), the faultstring in the
 *   message.  NotAuthenticated makes vim_call() log in again once and retry.
 *   InvalidLogin/NoPermission are PERR_AUTH; a missing object is
 *   PERR_NOT_FOUND; other faults PERR_REMOTE.
 * - Retries: a call that only reads (vim_method_is_read(), or vim_call_ex()
 *   with idempotent) is tried again after a transient failure (no answer,
 *   timeout, HTTP 429/502/503/504 without a SOAP fault), at most
 *   VIM_RETRY_ATTEMPTS more times, 250 ms doubling to 4 s with 20 % jitter,
 *   each retry logged at warn; a cancellation stops the wait.  Any other
 *   call is sent once, on a connection of its own so that the transport never
 *   replays it (lib/http.h): when its answer is lost the caller gets
 *   PERR_NETWORK/PERR_TIMEOUT and must read the state back before sending
 *   it again.  A SOAP fault is never retried (except NotAuthenticated).
 * - Replies are size-capped and parsed by vim_xml_parse() (no network, no
 *   entities, no DOCTYPE).
 * - The password is kept only as long as the session (for the re-login) and
 *   is zeroed when the session is closed.
 */
#ifndef POP_VIM_H
#define POP_VIM_H

#include <stdbool.h>
#include <stddef.h>

#include <libxml/tree.h>

#include "lib/compiler.h"
#include "lib/err.h"
#include "lib/http.h"

struct vim_opts {
    const char *host; /* "vc.example.com", "127.0.0.1:8989" or a URL */
    const char *user;
    const char *password;
    bool insecure;       /* GOVMOMI_INSECURE */
    const char *ca_pem;  /* PEM text (the secret's cacert) or NULL */
    const char *ca_file; /* PEM file or NULL */
    long timeout_ms;     /* per request; 0 = 60 s */
    size_t max_reply;    /* 0 = 32 MiB */
};

/* Managed object references of the ServiceContent that the calls need. */
struct vim_service {
    char *root_folder;
    char *property_collector;
    char *session_manager;
    char *search_index;
    char *view_manager;
    char *file_manager;
    char *api_version; /* "7.0.3.0", used in SOAPAction */
};

struct vim {
    struct http_transport http;
    char *url;  /* https://host[:port]/sdk */
    char *base; /* https://host[:port] */
    char *user;
    char *password; /* secret, zeroed on close */
    struct vim_service sc;
    size_t max_reply;
    unsigned long calls;   /* SOAP requests sent, for the bench and tests */
    unsigned long retries; /* reads sent again after a transient failure */
    long retry_initial_ms; /* first retry delay; 0 = 250 ms (tests may shorten it) */
    bool logged_in;
    /* Facts read once per run and reused by vim_calls.c (owned, freed by
     * vim_close): the runtime.host of the VM vim_find_vm() found by MoRef
     * (read in the same request as its existence check), and the host whose
     * whole config.storageDevice vim_datastore_adapters() read last, which
     * vim_host_hbas() answers from. */
    char *vm_ref;
    char *vm_host;
    char *sd_host;
    struct vim_resp *sd_resp;
};

/* A parsed reply: the document and the method's <...Response> element. */
struct vim_resp {
    xmlDoc *doc;
    xmlNode *response; /* borrowed from doc */
};

/* Normalises a vCenter host/URL into "https://host[:port]/sdk" (owned). */
int vim_url_normalise(const char *host, char **url, char **base, struct perr *err);

int vim_open(const struct vim_opts *opts, struct vim **out, struct perr *err);
/* Logs out (best effort, errors logged) and frees; NULL is fine. */
void vim_close(struct vim *v);

/* Calls method on the object (this_type, this_value).  *out owns the reply.
 * Idempotent when vim_method_is_read(method). */
int vim_call(struct vim *v, const char *method, const char *this_type, const char *this_value,
             const char *params, struct vim_resp **out, struct perr *err);
/* The same, the caller saying whether the call only reads (ExecuteSoap carries
 * esxcli commands of both kinds). */
int vim_call_ex(struct vim *v, const char *method, const char *this_type, const char *this_value,
                const char *params, bool idempotent, struct vim_resp **out, struct perr *err);
/* True for the SOAP methods that only read (retried, replay-safe). */
bool vim_method_is_read(const char *method);
void vim_resp_free(struct vim_resp *r);

/* The <returnval> elements of a reply, one after the other (NULL-safe). */
xmlNode *vim_resp_returnval(const struct vim_resp *r);

/* Parses a SOAP fault document into *err (used by vim_call, exposed for tests). */
void vim_fault_to_perr(xmlDoc *doc, long http_status, const char *method, struct perr *err);

/* Parses a reply body of a successful call (exposed for tests). */
int vim_parse_reply(const char *body, size_t len, size_t max, const char *method, long http_status,
                    struct vim_resp **out, struct perr *err);

#endif
