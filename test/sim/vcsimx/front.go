package main

// The HTTP front in front of vcsim: session tracking, the calls we answer
// ourselves, fault injection, the call log, and session checks on /folder.
//
// Faults file (-faults), re-read on every request; one rule per line, '#'
// starts a comment:
//
//	NAME KIND [ARGS...] [once]
//
// NAME is a SOAP method (ExecuteSoap, RetrievePropertiesEx, Login, ...), an
// esxcli method with or without its prefix (vim.EsxCLI.storage.core.device.list
// or storage.core.device.list; vim.CLIInfo.FetchCLIInfo or FetchCLIInfo),
// FolderPut / FolderGet / /folder for datastore file access, or * for any.
// KIND is one of:
//
//	soapfault TYPE MESSAGE...  HTTP 500 SOAP fault of vim type TYPE
//	clifault MESSAGE...        (ExecuteSoap only) an esxcli CLI fault in returnval.fault
//	drop                       close the connection without an answer; nothing runs
//	drop-after                 run the call, then close the connection without an answer
//	slow MS                    delay the answer by MS milliseconds (adds up; then other rules apply)
//	http STATUS                answer with this HTTP status and a short text body; nothing runs
//
// A trailing "once" makes the rule fire once; rewriting the file (new content
// or modification time) re-arms it. The first matching non-slow rule wins.
//
// Call log (-calls): one JSON object per request with ts, seq, call (SOAP
// method or FolderPut/FolderGet), this ("Type:value" of _this), moid (the
// ExecuteSoap moid, else _this's value), method (esxcli method), args (esxcli
// arguments decoded; property paths/types/objects of property collector calls;
// the user name of Login, never a password), host, session, http, outcome,
// injected (the rules that fired), exec and exec_rc (the wrapper's argv and
// exit status for vmkfstools commands) and ms.

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io/ioutil"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
)

const sessionCookie = "vmware_soap_session"

type front struct {
	w    *world
	o    *options
	next http.Handler

	mu       sync.Mutex
	sessions map[string]string // cookie value -> user
	logFile  *os.File
	seq      int64

	faultMu   sync.Mutex
	faultSig  string
	faultFire map[string]int
}

func newFront(w *world, o *options, next http.Handler) *front {
	f := &front{w: w, o: o, next: next, sessions: map[string]string{}, faultFire: map[string]int{}}
	if o.calls != "" {
		lf, err := os.OpenFile(o.calls, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0644)
		if err != nil {
			log.Fatalf("opening -calls: %v", err)
		}
		f.logFile = lf
	}
	return f
}

// ---- call log ----

func (f *front) close() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.logFile != nil {
		_ = f.logFile.Sync()
		_ = f.logFile.Close()
		f.logFile = nil
	}
}

type callEntry struct {
	TS       string                 `json:"ts"`
	Seq      int64                  `json:"seq"`
	Call     string                 `json:"call"`
	This     string                 `json:"this,omitempty"`
	Moid     string                 `json:"moid,omitempty"`
	Method   string                 `json:"method,omitempty"`
	Args     map[string]interface{} `json:"args,omitempty"`
	Host     string                 `json:"host,omitempty"`
	Session  bool                   `json:"session"`
	HTTP     int                    `json:"http"`
	Outcome  string                 `json:"outcome,omitempty"`
	Injected string                 `json:"injected,omitempty"`
	Exec     []string               `json:"exec,omitempty"`
	ExecRC   *int                   `json:"exec_rc,omitempty"`
	Ms       float64                `json:"ms"`
}

func (f *front) logCall(e *callEntry, start time.Time) {
	if f.logFile == nil {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.seq++
	e.Seq = f.seq
	e.TS = start.UTC().Format(time.RFC3339Nano)
	e.Ms = float64(time.Since(start).Microseconds()) / 1000
	b, err := json.Marshal(e)
	if err != nil {
		return
	}
	_, _ = f.logFile.Write(append(b, '\n'))
}

// ---- sessions ----

func (f *front) sessionOK(r *http.Request) bool {
	c, err := r.Cookie(sessionCookie)
	if err != nil {
		return false
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	_, ok := f.sessions[c.Value]
	return ok
}

func (f *front) basicOK(r *http.Request) bool {
	u, p, ok := r.BasicAuth()
	return ok && u == f.o.user && p == f.o.pass
}

// ---- fault injection ----

type faultRule struct {
	key   string
	name  string
	kind  string
	args  []string
	once  bool
	line  string
	index int
}

// rules re-reads the faults file; "once" rules are re-armed whenever the
// file's content or modification time changes.
func (f *front) rules() []faultRule {
	if f.o.faults == "" {
		return nil
	}
	fi, err := os.Stat(f.o.faults)
	if err != nil {
		return nil
	}
	data, err := ioutil.ReadFile(f.o.faults)
	if err != nil {
		return nil
	}
	sum := sha256.Sum256(data)
	sig := fmt.Sprintf("%x/%d/%d", sum, fi.ModTime().UnixNano(), fi.Size())
	f.faultMu.Lock()
	if sig != f.faultSig {
		f.faultSig = sig
		f.faultFire = map[string]int{}
	}
	f.faultMu.Unlock()
	var rules []faultRule
	sc := bufio.NewScanner(bytes.NewReader(data))
	n := 0
	for sc.Scan() {
		n++
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fields := strings.Fields(line)
		if len(fields) < 2 {
			log.Printf("faults file line %d ignored: %q", n, line)
			continue
		}
		r := faultRule{name: fields[0], kind: fields[1], args: fields[2:], line: line, index: n}
		if len(r.args) > 0 && r.args[len(r.args)-1] == "once" {
			r.once = true
			r.args = r.args[:len(r.args)-1]
		}
		r.key = fmt.Sprintf("%d:%s", n, line)
		rules = append(rules, r)
	}
	return rules
}

// pickFault returns the slow delay to apply and the first other rule that
// matches one of the names, consuming "once" rules.
func (f *front) pickFault(names []string) (time.Duration, *faultRule, []string) {
	var delay time.Duration
	var fired []string
	var chosen *faultRule
	for _, r := range f.rules() {
		r := r
		match := false
		for _, n := range names {
			if r.name == n || r.name == "*" {
				match = true
			}
		}
		if !match {
			continue
		}
		f.faultMu.Lock()
		spent := r.once && f.faultFire[r.key] > 0
		f.faultMu.Unlock()
		if spent {
			continue
		}
		if r.kind == "slow" {
			ms := 0
			if len(r.args) > 0 {
				ms, _ = strconv.Atoi(r.args[0])
			}
			delay += time.Duration(ms) * time.Millisecond
		} else if chosen == nil {
			chosen = &r
		} else {
			continue
		}
		f.faultMu.Lock()
		f.faultFire[r.key]++
		f.faultMu.Unlock()
		fired = append(fired, r.line)
	}
	return delay, chosen, fired
}

func hijackClose(w http.ResponseWriter) {
	if hj, ok := w.(http.Hijacker); ok {
		if conn, _, err := hj.Hijack(); err == nil {
			_ = conn.Close()
			return
		}
	}
	panic(http.ErrAbortHandler)
}

// ---- SOAP parsing and writing ----

type anyElem struct {
	XMLName  xml.Name
	Attrs    []xml.Attr `xml:",any,attr"`
	Children []anyElem  `xml:",any"`
	Text     string     `xml:",chardata"`
}

func (e *anyElem) child(name string) *anyElem {
	for i := range e.Children {
		if e.Children[i].XMLName.Local == name {
			return &e.Children[i]
		}
	}
	return nil
}

func (e *anyElem) attr(name string) string {
	for _, a := range e.Attrs {
		if a.Name.Local == name {
			return a.Value
		}
	}
	return ""
}

type soapReq struct {
	method   string
	body     *anyElem
	thisType string
	thisVal  string
}

func parseSOAP(data []byte) (*soapReq, error) {
	d := xml.NewDecoder(bytes.NewReader(data))
	inBody := false
	for {
		tok, err := d.Token()
		if err != nil {
			return nil, fmt.Errorf("no SOAP body: %v", err)
		}
		se, ok := tok.(xml.StartElement)
		if !ok {
			continue
		}
		if !inBody {
			if se.Name.Local == "Body" {
				inBody = true
			}
			continue
		}
		var e anyElem
		if err := d.DecodeElement(&e, &se); err != nil {
			return nil, err
		}
		r := &soapReq{method: se.Name.Local, body: &e}
		if t := e.child("_this"); t != nil {
			r.thisType = t.attr("type")
			r.thisVal = strings.TrimSpace(t.Text)
		}
		return r, nil
	}
}

const envHead = `<?xml version="1.0" encoding="UTF-8"?>
<soapenv:Envelope xmlns:soapenc="http://schemas.xmlsoap.org/soap/encoding/" xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
<soapenv:Body>
`
const envTail = `
</soapenv:Body>
</soapenv:Envelope>
`

func writeSOAP(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(envHead + body + envTail))
}

func soapFaultBody(faultType, msg, inner string) string {
	return fmt.Sprintf(`<soapenv:Fault><faultcode>ServerFaultCode</faultcode><faultstring>%s</faultstring><detail><%sFault xmlns="urn:vim25" xsi:type="%s">%s</%sFault></detail></soapenv:Fault>`,
		esc(msg), faultType, faultType, inner, faultType)
}

func writeSOAPFault(w http.ResponseWriter, faultType, msg, inner string) {
	writeSOAP(w, http.StatusInternalServerError, soapFaultBody(faultType, msg, inner))
}

func notAuthenticated(w http.ResponseWriter, req *soapReq) {
	inner := fmt.Sprintf(`<object type="%s">%s</object><privilegeId>System.View</privilegeId>`, esc(req.thisType), esc(req.thisVal))
	writeSOAPFault(w, "NotAuthenticated", "", inner)
}

// ---- HTTP entry ----

func (f *front) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.URL.Path == "/folder" || strings.HasPrefix(r.URL.Path, "/folder/"):
		f.serveFolder(w, r)
	case r.Method == http.MethodPost && (r.URL.Path == "/sdk" || r.URL.Path == "/sdk/vimService"):
		f.serveSDK(w, r)
	default:
		f.next.ServeHTTP(w, r)
	}
}

func (f *front) serveFolder(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	call := "FolderGet"
	switch r.Method {
	case http.MethodPut, http.MethodPost:
		call = "FolderPut"
	case http.MethodDelete:
		call = "FolderDelete"
	case http.MethodHead:
		call = "FolderHead"
	}
	e := &callEntry{Call: call, Args: map[string]interface{}{
		"path": strings.TrimPrefix(r.URL.Path, "/folder/"), "dsName": r.URL.Query().Get("dsName"), "dcPath": r.URL.Query().Get("dcPath"),
	}}
	defer f.logCall(e, start)
	e.Session = f.sessionOK(r)

	delay, rule, fired := f.pickFault([]string{call, "/folder"})
	time.Sleep(delay)
	if len(fired) > 0 {
		e.Injected = strings.Join(fired, "; ")
	}
	if rule != nil {
		switch rule.kind {
		case "drop":
			e.Outcome = "dropped"
			hijackClose(w)
			return
		case "http":
			st, _ := strconv.Atoi(first(rule.args))
			if st < 100 || st > 999 {
				st = 500
			}
			e.HTTP = st
			w.WriteHeader(st)
			return
		}
	}
	if !e.Session && !f.basicOK(r) {
		e.HTTP = http.StatusUnauthorized
		e.Outcome = "no valid session"
		w.Header().Set("WWW-Authenticate", `Basic realm="VMware HTTP server"`)
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	if r.ContentLength > 0 {
		e.Args["bytes"] = r.ContentLength
	}
	rec := httptest.NewRecorder()
	f.next.ServeHTTP(rec, r)
	e.HTTP = rec.Code
	if rule != nil && rule.kind == "drop-after" {
		e.Outcome = "done, reply dropped"
		hijackClose(w)
		return
	}
	copyRecorded(w, rec)
}

func copyRecorded(w http.ResponseWriter, rec *httptest.ResponseRecorder) {
	for k, v := range rec.Header() {
		w.Header()[k] = v
	}
	w.WriteHeader(rec.Code)
	_, _ = w.Write(rec.Body.Bytes())
}

var unauthenticatedOK = map[string]bool{
	"RetrieveServiceContent":      true,
	"Login":                       true,
	"LoginByToken":                true,
	"LoginExtensionByCertificate": true,
	"LoginExtensionBySubjectName": true,
	"CloneSession":                true,
}

var faultStringRe = regexp.MustCompile(`<faultstring>([^<]*)</faultstring>`)
var faultTypeRe = regexp.MustCompile(`xsi:type="([A-Za-z]+)"`)

func (f *front) serveSDK(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	data, err := ioutil.ReadAll(http.MaxBytesReader(w, r.Body, 64<<20))
	_ = r.Body.Close()
	if err != nil {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	req, perr := parseSOAP(data)
	if perr != nil {
		e := &callEntry{Call: "(unparsable)", HTTP: 500, Outcome: perr.Error()}
		f.logCall(e, start)
		writeSOAPFault(w, "InvalidRequest", "unparsable request: "+perr.Error(), "")
		return
	}
	e := &callEntry{Call: req.method, This: req.thisVal, Moid: req.thisVal}
	if req.thisType != "" {
		e.This = req.thisType + ":" + req.thisVal
	}
	e.Session = f.sessionOK(r)
	defer f.logCall(e, start)

	names := []string{req.method}
	var esxMethod, esxMoid string
	var esxArgs map[string][]string
	var argErr error
	if req.method == "ExecuteSoap" {
		esxMoid = strings.TrimSpace(textOf(req.body.child("moid")))
		esxMethod = strings.TrimSpace(textOf(req.body.child("method")))
		e.Moid = esxMoid
		e.Method = esxMethod
		esxArgs, argErr = decodeArgs(req.body)
		e.Args = flattenArgs(esxArgs)
		names = append(names, esxMethod, strings.TrimPrefix(esxMethod, "vim.EsxCLI."), strings.TrimPrefix(esxMethod, "vim.CLIInfo."))
	} else {
		e.Args = passthroughArgs(req)
	}

	delay, rule, fired := f.pickFault(names)
	time.Sleep(delay)
	if len(fired) > 0 {
		e.Injected = strings.Join(fired, "; ")
	}
	var dropAfter bool
	if rule != nil {
		switch rule.kind {
		case "drop":
			e.Outcome = "dropped"
			hijackClose(w)
			return
		case "http":
			st, _ := strconv.Atoi(first(rule.args))
			if st < 100 || st > 999 {
				st = 500
			}
			e.HTTP = st
			w.Header().Set("Content-Type", "text/plain")
			w.WriteHeader(st)
			_, _ = fmt.Fprintf(w, "injected HTTP %d\n", st)
			return
		case "soapfault":
			ft := "SystemError"
			msg := "injected fault"
			if len(rule.args) > 0 {
				ft = rule.args[0]
			}
			if len(rule.args) > 1 {
				msg = strings.Join(rule.args[1:], " ")
			}
			e.HTTP = 500
			e.Outcome = "soapfault " + ft
			inner := ""
			if ft == "NotAuthenticated" {
				inner = fmt.Sprintf(`<object type="%s">%s</object><privilegeId>System.View</privilegeId>`, esc(req.thisType), esc(req.thisVal))
			}
			writeSOAPFault(w, ft, msg, inner)
			return
		case "clifault":
			if req.method == "ExecuteSoap" {
				msg := strings.Join(rule.args, " ")
				if msg == "" {
					msg = "injected failure"
				}
				res := errorFault(msg)
				e.HTTP = 200
				e.Outcome = res.summary
				writeExecuteSoap(w, res)
				return
			}
		case "drop-after":
			dropAfter = true
		}
	}

	var out http.ResponseWriter = w
	var rec *httptest.ResponseRecorder
	if dropAfter {
		rec = httptest.NewRecorder()
		out = rec
	}

	switch req.method {
	case "RetrieveManagedMethodExecuter", "RetrieveDynamicTypeManager", "ExecuteSoap":
		if !e.Session {
			e.HTTP = 500
			e.Outcome = "NotAuthenticated"
			notAuthenticated(out, req)
			break
		}
		f.serveEsx(out, e, req, esxMoid, esxMethod, esxArgs, argErr)
	case "QueryConfiguredModuleOptionString":
		h := f.hostOf(req.thisVal, "kernelModuleSystem-")
		if req.thisType != "HostKernelModuleSystem" || h == nil {
			f.passthrough(out, r, data, req, e)
			break
		}
		f.serveModuleOptions(out, e, req, h)
	case "RefreshStorageInfo":
		if e.Session && f.w.refreshStorage(req.thisVal) {
			e.HTTP = 200
			writeSOAP(out, 200, `<RefreshStorageInfoResponse xmlns="urn:vim25"></RefreshStorageInfoResponse>`)
			break
		}
		f.passthrough(out, r, data, req, e)
	default:
		f.passthrough(out, r, data, req, e)
	}

	if dropAfter {
		e.Outcome = strings.TrimSpace(e.Outcome + " (reply dropped)")
		hijackClose(w)
	}
}

func textOf(e *anyElem) string {
	if e == nil {
		return ""
	}
	return e.Text
}

// decodeArgs reads ExecuteSoap's <argument><name>N</name><val><N>v</N>...</val>
// pairs. The val string must be an XML fragment of <N> elements, as real
// hosts parse it: a value with an unescaped '&' or '<' is an error.
func decodeArgs(body *anyElem) (map[string][]string, error) {
	args := map[string][]string{}
	for _, a := range body.Children {
		if a.XMLName.Local != "argument" {
			continue
		}
		name := strings.TrimSpace(textOf(a.child("name")))
		val := textOf(a.child("val"))
		d := xml.NewDecoder(strings.NewReader("<v>" + val + "</v>"))
		var root anyElem
		if err := d.Decode(&root); err != nil {
			return args, fmt.Errorf("argument %q: value is not a well-formed XML fragment: %v", name, err)
		}
		found := false
		for _, c := range root.Children {
			if c.XMLName.Local == name {
				args[name] = append(args[name], c.Text)
				found = true
			}
		}
		if !found {
			return args, fmt.Errorf("argument %q: value holds no <%s> element", name, name)
		}
	}
	return args, nil
}

func flattenArgs(a map[string][]string) map[string]interface{} {
	if len(a) == 0 {
		return nil
	}
	r := map[string]interface{}{}
	for k, v := range a {
		if len(v) == 1 {
			r[k] = v[0]
		} else {
			r[k] = v
		}
	}
	return r
}

// passthroughArgs keeps the harmless, assertable bits of a vcsim call: the
// property paths and object types of property collector calls, the user name
// of a login (never the password).
func passthroughArgs(req *soapReq) map[string]interface{} {
	r := map[string]interface{}{}
	switch req.method {
	case "Login":
		r["userName"] = textOf(req.body.child("userName"))
	case "RetrieveProperties", "RetrievePropertiesEx", "CreateFilter", "WaitForUpdatesEx":
		var paths, types, objs []string
		var walk func(e *anyElem)
		walk = func(e *anyElem) {
			switch e.XMLName.Local {
			case "pathSet":
				paths = append(paths, strings.TrimSpace(e.Text))
			case "type":
				if len(e.Children) == 0 {
					types = append(types, strings.TrimSpace(e.Text))
				}
			case "obj":
				objs = append(objs, e.attr("type")+":"+strings.TrimSpace(e.Text))
			}
			for i := range e.Children {
				walk(&e.Children[i])
			}
		}
		walk(req.body)
		if len(paths) > 0 {
			r["pathSet"] = paths
		}
		if len(types) > 0 {
			r["type"] = types
		}
		if len(objs) > 0 {
			r["obj"] = objs
		}
	}
	if len(r) == 0 {
		return nil
	}
	return r
}

func (f *front) passthrough(w http.ResponseWriter, r *http.Request, data []byte, req *soapReq, e *callEntry) {
	if !e.Session && !unauthenticatedOK[req.method] {
		e.HTTP = 500
		e.Outcome = "NotAuthenticated"
		notAuthenticated(w, req)
		return
	}
	r2 := r.Clone(r.Context())
	r2.Body = ioutil.NopCloser(bytes.NewReader(data))
	r2.ContentLength = int64(len(data))
	rec := httptest.NewRecorder()
	f.next.ServeHTTP(rec, r2)
	e.HTTP = rec.Code
	if rec.Code != 200 {
		fs := faultStringRe.FindSubmatch(rec.Body.Bytes())
		ft := ""
		if m := faultTypeRe.FindSubmatch(rec.Body.Bytes()); m != nil {
			ft = string(m[1])
		}
		msg := ""
		if fs != nil {
			msg = string(fs[1])
		}
		e.Outcome = strings.TrimSpace("fault " + ft + " " + msg)
	}
	if rec.Code == 200 {
		switch req.method {
		case "Login", "LoginByToken", "LoginExtensionByCertificate", "LoginExtensionBySubjectName", "CloneSession":
			for _, c := range (&http.Response{Header: rec.Header()}).Cookies() {
				if c.Name == sessionCookie && c.Value != "" {
					f.mu.Lock()
					f.sessions[c.Value] = req.method
					f.mu.Unlock()
				}
			}
		case "Logout":
			if c, err := r.Cookie(sessionCookie); err == nil {
				f.mu.Lock()
				delete(f.sessions, c.Value)
				f.mu.Unlock()
			}
		}
	}
	copyRecorded(w, rec)
}

func (f *front) hostOf(thisVal, prefix string) *host {
	if !strings.HasPrefix(thisVal, prefix) {
		return nil
	}
	return f.w.byRef[strings.TrimPrefix(thisVal, prefix)]
}

func (f *front) serveEsx(w http.ResponseWriter, e *callEntry, req *soapReq, moid, method string, args map[string][]string, argErr error) {
	switch req.method {
	case "RetrieveManagedMethodExecuter", "RetrieveDynamicTypeManager":
		h := f.w.byRef[req.thisVal]
		if req.thisType != "HostSystem" || h == nil {
			e.HTTP = 500
			e.Outcome = "ManagedObjectNotFound"
			writeSOAPFault(w, "ManagedObjectNotFound", "The object has already been deleted or has not been completely created",
				fmt.Sprintf(`<obj type="%s">%s</obj>`, esc(req.thisType), esc(req.thisVal)))
			return
		}
		e.Host = h.ref.Value
		e.HTTP = 200
		if req.method == "RetrieveManagedMethodExecuter" {
			writeSOAP(w, 200, fmt.Sprintf(`<RetrieveManagedMethodExecuterResponse xmlns="urn:vim25"><returnval type="ReflectManagedMethodExecuter">methodExecuter-%s</returnval></RetrieveManagedMethodExecuterResponse>`, h.ref.Value))
		} else {
			writeSOAP(w, 200, fmt.Sprintf(`<RetrieveDynamicTypeManagerResponse xmlns="urn:vim25"><returnval type="InternalDynamicTypeManager">dynamicTypeManager-%s</returnval></RetrieveDynamicTypeManagerResponse>`, h.ref.Value))
		}
		return
	}
	h := f.hostOf(req.thisVal, "methodExecuter-")
	if req.thisType != "ReflectManagedMethodExecuter" || h == nil {
		e.HTTP = 500
		e.Outcome = "ManagedObjectNotFound"
		writeSOAPFault(w, "ManagedObjectNotFound", "The object has already been deleted or has not been completely created",
			fmt.Sprintf(`<obj type="%s">%s</obj>`, esc(req.thisType), esc(req.thisVal)))
		return
	}
	e.Host = h.ref.Value
	if argErr != nil {
		e.HTTP = 500
		e.Outcome = "InvalidRequest: " + argErr.Error()
		writeSOAPFault(w, "InvalidRequest", argErr.Error(), "")
		return
	}
	res, argv, rc := f.w.execute(h, moid, method, args)
	if argv != nil {
		e.Exec = argv
		e.ExecRC = &rc
	}
	e.HTTP = 200
	e.Outcome = res.summary
	writeExecuteSoap(w, res)
}

// serveModuleOptions answers QueryConfiguredModuleOptionString: every host
// runs the PowerFlex SDC ("scini"), whose options carry the host's SDC GUID;
// any other module is NotFound, as on a host without it.
func (f *front) serveModuleOptions(w http.ResponseWriter, e *callEntry, req *soapReq, h *host) {
	e.Host = h.ref.Value
	if !e.Session {
		e.HTTP = 500
		e.Outcome = "NotAuthenticated"
		notAuthenticated(w, req)
		return
	}
	name := strings.TrimSpace(textOf(req.body.child("name")))
	if name != "scini" {
		e.HTTP = 500
		e.Outcome = "NotFound"
		writeSOAPFault(w, "NotFound", "The object or item referred to could not be found.", "")
		return
	}
	e.HTTP = 200
	writeSOAP(w, 200, fmt.Sprintf(`<QueryConfiguredModuleOptionStringResponse xmlns="urn:vim25"><returnval>IoctlIniGuidStr=%s IoctlMdmIPStr=127.0.0.1</returnval></QueryConfiguredModuleOptionStringResponse>`, esc(h.sdcGUID)))
}

func writeExecuteSoap(w http.ResponseWriter, res cliResult) {
	var b strings.Builder
	b.WriteString(`<ExecuteSoapResponse xmlns="urn:vim25"><returnval>`)
	if res.faultMsg != "" || res.faultDetail != "" {
		fmt.Fprintf(&b, "<fault><faultMsg>%s</faultMsg><faultDetail>%s</faultDetail></fault>", esc(res.faultMsg), esc(res.faultDetail))
	} else {
		fmt.Fprintf(&b, "<response>%s</response>", esc(res.response))
	}
	b.WriteString(`</returnval></ExecuteSoapResponse>`)
	writeSOAP(w, 200, b.String())
}
