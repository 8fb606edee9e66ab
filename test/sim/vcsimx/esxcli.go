package main

// esxcli over ExecuteSoap: the command metadata (vim.CLIInfo.FetchCLIInfo) and
// the commands the populator runs. This is our model of ESXi: names, aliases
// and response shapes follow real hosts (display names with dashes removed as
// parameter names; alphabetical fields; ArrayOfDataObject for lists; a single
// structure for "get"; xsd:boolean true for actions; CLI faults in
// returnval.fault with an XML faultDetail).

import (
	"bytes"
	"context"
	"encoding/xml"
	"fmt"
	"io/ioutil"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

type cliParam struct {
	display  string
	help     string
	aliases  []string
	flag     bool
	required bool
}

func (p cliParam) name() string { return strings.ReplaceAll(p.display, "-", "") }

type cliMethod struct {
	name   string
	help   string
	params []cliParam
	hints  [][2]string
}

type cliNamespace struct {
	name    string // storage.core.device
	help    string
	methods []cliMethod
}

var (
	pDevice = cliParam{display: "device", help: "Filter the output of this command to only show a single device.", aliases: []string{"--device", "-d"}}
	pID     = cliParam{display: "id", help: "Task id returned by clone.", aliases: []string{"--id", "-i"}, required: true}
)

var namespaces = []cliNamespace{
	{name: "system.version", help: "Commands to get version information.", methods: []cliMethod{
		{name: "get", help: "Display the product name, version and build information.", hints: [][2]string{{"formatter", "simple"}}},
	}},
	{name: "storage.core.device", help: "Operations on the Pluggable Storage Architecture (PSA) devices on the system.", methods: []cliMethod{
		{name: "list", help: "List the devices currently registered with the PSA.", params: []cliParam{
			pDevice,
			{display: "exclude-offline", help: "If set this flag will exclude the offline devices.", aliases: []string{"--exclude-offline", "-o"}, flag: true},
			{display: "pe-only", help: "If set this flag will list the mount points of PE type.", aliases: []string{"--pe-only", "-p"}, flag: true},
		}, hints: [][2]string{{"formatter", "tree"}}},
		{name: "set", help: "Provide control to allow a user to modify a SCSI device's state.", params: []cliParam{
			{display: "device", help: "The device upon which to operate.", aliases: []string{"--device", "-d"}, required: true},
			{display: "state", help: "Set the SCSI device state for a specific device (on, off).", aliases: []string{"--state"}},
			{display: "name", help: "The new display name for the device.", aliases: []string{"--name", "-n"}},
			{display: "default-name", help: "Set the display name of the device to the default.", aliases: []string{"--default-name", "-D"}, flag: true},
		}},
	}},
	{name: "storage.core.device.detached", help: "Manage detached devices.", methods: []cliMethod{
		{name: "list", help: "Lists all devices that were detached manually.", params: []cliParam{pDevice},
			hints: [][2]string{{"formatter", "table"}, {"fields:", "Device UID,State"}}},
		{name: "remove", help: "Allow a user to permanently remove a detached device from the detached list.", params: []cliParam{
			{display: "all", help: "Remove all detached devices from the detached list.", aliases: []string{"--all", "-a"}, flag: true},
			{display: "device", help: "The detached device to remove.", aliases: []string{"--device", "-d"}},
		}},
	}},
	{name: "storage.core.adapter", help: "Operations on the storage adapters.", methods: []cliMethod{
		{name: "list", help: "List all the SCSI Host Bus Adapters on the system.", hints: [][2]string{{"formatter", "table"}}},
		{name: "rescan", help: "Rescan SCSI HBAs to search for new devices, remove DEAD paths and update path state.", params: []cliParam{
			{display: "adapter", help: "The adapter to rescan.", aliases: []string{"--adapter", "-A"}},
			{display: "all", help: "Rescan all adapters.", aliases: []string{"--all", "-a"}, flag: true},
			{display: "skip-claim", help: "Skip claiming of new devices during the rescan.", aliases: []string{"--skip-claim", "-S"}, flag: true},
			{display: "skip-fs-scan", help: "Skip filesystem scan during the rescan.", aliases: []string{"--skip-fs-scan", "-F"}, flag: true},
			{display: "type", help: "Type of rescan: add, delete, update (default: all).", aliases: []string{"--type", "-t"}},
		}},
	}},
	{name: "vmkfstools", help: "vmkfstools operations", methods: []cliMethod{
		{name: "clone", help: "Clone VMDK to RDM", params: []cliParam{
			{display: "source-vmdk", help: "Full path to the source VMDK", aliases: []string{"--source-vmdk", "-s"}, required: true},
			{display: "target-lun", help: "Target RDM device", aliases: []string{"--target-lun", "-t"}, required: true},
		}, hints: [][2]string{{"formatter", "simple"}}},
		{name: "taskGet", help: "Get a clone task status", params: []cliParam{pID}, hints: [][2]string{{"formatter", "simple"}}},
		{name: "taskClean", help: "Clean task artifacts", params: []cliParam{pID}, hints: [][2]string{{"formatter", "simple"}}},
		{name: "taskFind", help: "List the clone tasks whose target is a device", params: []cliParam{
			{display: "target-lun", help: "Target RDM device", aliases: []string{"--target-lun", "-t"}, required: true},
			{display: "source-vmdk", help: "Full path to the source VMDK", aliases: []string{"--source-vmdk", "-s"}, required: true},
		}, hints: [][2]string{{"formatter", "simple"}}},
		{name: "version", help: "Print the wrapper version", hints: [][2]string{{"formatter", "simple"}}},
	}},
}

// esc escapes text for XML element content or attribute values the way
// vSphere servers do (named entities); characters XML 1.0 cannot carry are
// replaced by U+FFFD.
func esc(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '&':
			b.WriteString("&amp;")
		case r == '<':
			b.WriteString("&lt;")
		case r == '>':
			b.WriteString("&gt;")
		case r == '"':
			b.WriteString("&quot;")
		case r == '\t' || r == '\n' || r == '\r':
			b.WriteRune(r)
		case r < 0x20 || r == 0xfffe || r == 0xffff || (r >= 0xd800 && r <= 0xdfff):
			b.WriteRune(0xfffd)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

const objHead = `<obj xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns="urn:vim25" versionId="5.0" xsi:type="%s">`

// cliResult is what an esxcli execution produces: a response document or a
// CLI fault.
type cliResult struct {
	response    string
	faultMsg    string
	faultDetail string
	summary     string // for the call log
}

func cliFault(faultType, msg string, errMsg ...string) cliResult {
	var b strings.Builder
	fmt.Fprintf(&b, objHead, "LocalizedMethodFault")
	fmt.Fprintf(&b, "\n <fault xsi:type=%q>", faultType)
	for _, m := range errMsg {
		fmt.Fprintf(&b, "<errMsg>%s</errMsg>", esc(m))
	}
	fmt.Fprintf(&b, "</fault>\n <localizedMessage>%s</localizedMessage>\n</obj>", esc(msg))
	return cliResult{faultMsg: msg, faultDetail: b.String(), summary: "clifault " + faultType + ": " + msg}
}

func notFoundFault() cliResult {
	return cliFault("NotFound", "CLI Fault: The object or item referred to could not be found.")
}

func errorFault(msg string) cliResult {
	return cliFault("VimEsxCLICLIFault", "CLI Fault: "+msg, msg)
}

type row struct {
	typ    string
	fields map[string]string
}

func renderObject(typ string, fields map[string]string, elem string, indent string) string {
	var b strings.Builder
	keys := make([]string, 0, len(fields))
	for k := range fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	if elem != "" {
		fmt.Fprintf(&b, "%s<%s xsi:type=%q>\n", indent, elem, typ)
	}
	for _, k := range keys {
		fmt.Fprintf(&b, "%s <%s>%s</%s>\n", indent, k, esc(fields[k]), k)
	}
	if elem != "" {
		fmt.Fprintf(&b, "%s</%s>\n", indent, elem)
	}
	return b.String()
}

func arrayResponse(rows []row) cliResult {
	var b strings.Builder
	fmt.Fprintf(&b, objHead, "ArrayOfDataObject")
	b.WriteString("\n")
	for _, r := range rows {
		b.WriteString(renderObject(r.typ, r.fields, "DataObject", " "))
	}
	b.WriteString("</obj>")
	return cliResult{response: b.String(), summary: fmt.Sprintf("%d rows", len(rows))}
}

func structResponse(typ string, fields map[string]string) cliResult {
	var b strings.Builder
	fmt.Fprintf(&b, objHead, typ)
	b.WriteString("\n")
	b.WriteString(renderObject(typ, fields, "", ""))
	b.WriteString("</obj>")
	return cliResult{response: b.String(), summary: typ}
}

func boolResponse() cliResult {
	return cliResult{response: fmt.Sprintf(objHead, "xsd:boolean") + "true</obj>", summary: "true"}
}

// cliInfo renders the FetchCLIInfo answer of a namespace.
func cliInfo(ns *cliNamespace) cliResult {
	var b strings.Builder
	fmt.Fprintf(&b, objHead, "VimCLIInfo")
	parts := strings.Split(ns.name, ".")
	fmt.Fprintf(&b, "\n <name>vim.EsxCLI.%s</name>\n <displayName>%s</displayName>\n <help>%s</help>\n",
		esc(ns.name), esc(parts[len(parts)-1]), esc(ns.help))
	for _, m := range ns.methods {
		fmt.Fprintf(&b, " <method>\n  <name>%s</name>\n  <displayName>%s</displayName>\n  <help>%s</help>\n", esc(m.name), esc(m.name), esc(m.help))
		for _, p := range m.params {
			fmt.Fprintf(&b, "  <param>\n   <name>%s</name>\n   <displayName>%s</displayName>\n   <help>%s</help>\n", esc(p.name()), esc(p.display), esc(p.help))
			for _, a := range p.aliases {
				fmt.Fprintf(&b, "   <aliases>%s</aliases>\n", esc(a))
			}
			fmt.Fprintf(&b, "   <flag>%t</flag>\n  </param>\n", p.flag)
		}
		for _, h := range m.hints {
			fmt.Fprintf(&b, "  <hints>\n   <key>%s</key>\n   <value>%s</value>\n  </hints>\n", esc(h[0]), esc(h[1]))
		}
		b.WriteString(" </method>\n")
	}
	b.WriteString("</obj>")
	return cliResult{response: b.String(), summary: "cliinfo " + ns.name}
}

func (w *world) vibInstalled() bool {
	fi, err := os.Stat(filepath.Join(w.root, "opt/redhat/vmkfstools-wrapper"))
	return err == nil && fi.Mode().IsRegular()
}

func (w *world) findNamespace(h *host, name string) *cliNamespace {
	for i := range namespaces {
		if namespaces[i].name == name {
			if name == "vmkfstools" && !w.pluginRegistered(h) {
				return nil
			}
			return &namespaces[i]
		}
	}
	return nil
}

// execute runs one esxcli method ("vim.EsxCLI.storage.core.device.list") on a
// host with its decoded arguments.
func (w *world) execute(h *host, moid, method string, args map[string][]string) (cliResult, []string, int) {
	if method == "vim.CLIInfo.FetchCLIInfo" {
		if moid != "ha-dynamic-type-manager-local-cli-cliinfo" {
			return notFoundFault(), nil, 0
		}
		tn := first(args["typeName"])
		ns := w.findNamespace(h, strings.TrimPrefix(tn, "vim.EsxCLI."))
		if !strings.HasPrefix(tn, "vim.EsxCLI.") || ns == nil {
			return notFoundFault(), nil, 0
		}
		return cliInfo(ns), nil, 0
	}
	if !strings.HasPrefix(method, "vim.EsxCLI.") {
		return notFoundFault(), nil, 0
	}
	full := strings.TrimPrefix(method, "vim.EsxCLI.")
	dot := strings.LastIndex(full, ".")
	if dot < 0 {
		return notFoundFault(), nil, 0
	}
	nsName, cmd := full[:dot], full[dot+1:]
	ns := w.findNamespace(h, nsName)
	if ns == nil || moid != "ha-cli-handler-"+strings.ReplaceAll(nsName, ".", "-") {
		return notFoundFault(), nil, 0
	}
	var m *cliMethod
	for i := range ns.methods {
		if ns.methods[i].name == cmd {
			m = &ns.methods[i]
		}
	}
	if m == nil {
		return notFoundFault(), nil, 0
	}
	known := map[string]cliParam{}
	for _, p := range m.params {
		known[p.name()] = p
	}
	for name := range args {
		if _, ok := known[name]; !ok {
			return errorFault(fmt.Sprintf("Invalid parameter %q for %s %s", name, strings.ReplaceAll(nsName, ".", " "), cmd)), nil, 0
		}
	}
	for _, p := range m.params {
		if p.required && len(args[p.name()]) == 0 {
			return errorFault(fmt.Sprintf("Missing required parameter %s", strings.Join(p.aliases, "|"))), nil, 0
		}
	}

	if nsName == "vmkfstools" {
		return w.runWrapper(h, cmd, args)
	}

	w.mu.Lock()
	defer w.mu.Unlock()
	switch nsName + " " + cmd {
	case "system.version get":
		return structResponse("VimEsxCLIsystemversiongetVersionGet", map[string]string{
			"Product": "VMware ESXi", "Version": w.o.esxVersion, "Build": "Releasebuild-22380479", "Update": "2", "Patch": "0",
		}), nil, 0
	case "storage.core.device list":
		return w.deviceList(h, first(args["device"]), isTrue(first(args["excludeoffline"]))), nil, 0
	case "storage.core.device set":
		return w.deviceSet(h, first(args["device"]), args), nil, 0
	case "storage.core.device.detached list":
		return w.detachedList(h, first(args["device"])), nil, 0
	case "storage.core.device.detached remove":
		return w.detachedRemove(h, first(args["device"]), isTrue(first(args["all"]))), nil, 0
	case "storage.core.adapter list":
		return w.adapterList(h), nil, 0
	case "storage.core.adapter rescan":
		return w.adapterRescan(h, first(args["adapter"]), isTrue(first(args["all"])), first(args["type"])), nil, 0
	}
	if res, ok := w.executeHostConfig(h, nsName, cmd, args); ok {
		return res, nil, 0
	}
	return notFoundFault(), nil, 0
}

func first(v []string) string {
	if len(v) == 0 {
		return ""
	}
	return v[0]
}

func isTrue(s string) bool {
	switch strings.ToLower(s) {
	case "1", "true", "yes", "on":
		return true
	}
	return false
}

func (w *world) deviceRow(naa, status, vendor, model string, size int64, offline bool) row {
	if vendor == "" {
		vendor = "SIMARRAY"
	}
	if model == "" {
		model = "Virtual LUN"
	}
	return row{typ: "VimEsxCLIstoragecoredevicelistDevice", fields: map[string]string{
		"Device":                                naa,
		"DisplayName":                           fmt.Sprintf("%s Fibre Channel Disk (%s)", vendor, naa),
		"HasSettableDisplayName":                "true",
		"Size":                                  strconv.FormatInt(size/mib, 10),
		"DeviceType":                            "Direct-Access",
		"MultipathPlugin":                       "NMP",
		"DevfsPath":                             "/vmfs/devices/disks/" + naa,
		"Vendor":                                vendor,
		"Model":                                 model,
		"Revision":                              "9800",
		"SCSILevel":                             "6",
		"IsPseudo":                              "false",
		"Status":                                status,
		"IsRDMCapable":                          "true",
		"IsLocal":                               "false",
		"IsRemovable":                           "false",
		"IsSSD":                                 "true",
		"IsVVOLPE":                              "false",
		"IsOffline":                             strconv.FormatBool(offline),
		"IsPerenniallyReserved":                 "false",
		"QueueFullSampleSize":                   "0",
		"QueueFullThreshold":                    "0",
		"ThinProvisioningStatus":                "yes",
		"AttachedFilters":                       "",
		"VAAIStatus":                            "supported",
		"OtherUIDs":                             "vml." + lunUUID(naa, model),
		"IsSharedClusterwide":                   "true",
		"IsSAS":                                 "false",
		"IsUSB":                                 "false",
		"IsBootDevice":                          "false",
		"DeviceMaxQueueDepth":                   "64",
		"NoofoutstandingIOswithcompetingworlds": "32",
		"DriveType":                             "unknown",
		"RAIDLevel":                             "unknown",
		"NumberofPhysicalDrives":                "unknown",
		"ProtectionEnabled":                     "false",
		"PIActivated":                           "false",
		"PIType":                                "0",
		"PIProtectionMask":                      "NO PROTECTION",
		"SupportedGuardTypes":                   "NO GUARD SUPPORT",
		"DIXEnabled":                            "false",
		"DIXGuardType":                          "NO GUARD SUPPORT",
		"EmulatedDIXDIFEnabled":                 "false",
	}}
}

func (w *world) backingSize(backing string) int64 {
	if fi, err := os.Stat(filepath.Join(w.root, filepath.Clean(backing))); err == nil {
		return fi.Size()
	}
	return 0
}

func (w *world) deviceList(h *host, naa string, excludeOffline bool) cliResult {
	w.settle(h)
	naa = strings.ToLower(naa)
	var rows []row
	var names []string
	for n := range w.staticLuns {
		names = append(names, n)
	}
	for n := range h.state.Devices {
		if _, ok := w.staticLuns[n]; !ok {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	for _, n := range names {
		if naa != "" && n != naa {
			continue
		}
		if sl, ok := w.staticLuns[n]; ok {
			rows = append(rows, w.deviceRow(n, statusOn, sl.vendor, sl.model, sl.sizeMiB*mib, false))
			continue
		}
		d := h.state.Devices[n]
		if excludeOffline && d.Status != statusOn {
			continue
		}
		rows = append(rows, w.deviceRow(n, d.Status, d.Vendor, d.Model, w.backingSize(d.Backing), d.Status == statusOff))
	}
	if naa != "" && len(rows) == 0 {
		return errorFault("Unknown device " + naa)
	}
	return arrayResponse(rows)
}

func (w *world) deviceSet(h *host, naa string, args map[string][]string) cliResult {
	w.settle(h)
	naa = strings.ToLower(naa)
	if _, ok := w.staticLuns[naa]; ok {
		return errorFault("Unable to change the state of device " + naa + ": device is in use by a datastore or VM")
	}
	d, ok := h.state.Devices[naa]
	if !ok {
		return errorFault("Unknown device " + naa)
	}
	if st := first(args["state"]); st != "" {
		switch st {
		case "off":
			if d.Status != statusOff {
				d.Status = statusOff
				d.Changed = now()
			}
		case "on":
			if d.Status == statusOff {
				d.Status = statusOn
				d.Changed = now()
				w.settle(h) // back on, but its mapping may be gone
			}
		default:
			return errorFault(fmt.Sprintf("Invalid state %q: expected on or off", st))
		}
		w.syncDeviceNode(naa)
		_ = w.saveHostState(h)
	}
	return boolResponse()
}

func (w *world) detachedList(h *host, naa string) cliResult {
	w.settle(h)
	var rows []row
	var names []string
	for n, d := range h.state.Devices {
		if d.Status == statusOff && (naa == "" || n == strings.ToLower(naa)) {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	for _, n := range names {
		rows = append(rows, row{typ: "VimEsxCLIstoragecoredevicedetachedlistDetachedDevice", fields: map[string]string{"DeviceUID": n, "State": "off"}})
	}
	return arrayResponse(rows)
}

func (w *world) detachedRemove(h *host, naa string, all bool) cliResult {
	w.settle(h)
	if !all && naa == "" {
		return errorFault("You must specify either the --device or the --all option")
	}
	naa = strings.ToLower(naa)
	removed := false
	for n, d := range h.state.Devices {
		if (all || n == naa) && (d.Status == statusOff || d.Status == statusDead) {
			delete(h.state.Devices, n)
			w.syncDeviceNode(n)
			removed = true
		}
	}
	_ = w.saveHostState(h)
	if !all && !removed {
		return errorFault("Unable to remove device " + naa + ": it is not in the detached device list")
	}
	return boolResponse()
}

func (w *world) adapterList(h *host) cliResult {
	rows := []row{
		{typ: "VimEsxCLIstoragecoreadapterlistScsiAdapter", fields: map[string]string{
			"HBAName": fcDevice, "Driver": "qlnativefc", "LinkState": "link-up", "UID": h.fcID(),
			"Capabilities": "Second Level Lun ID", "Description": "(0000:3b:00.0) QLogic Corp ISP2722-based 16/32Gb Fibre Channel to PCIe Adapter"}},
		{typ: "VimEsxCLIstoragecoreadapterlistScsiAdapter", fields: map[string]string{
			"HBAName": iscsiDevice, "Driver": "iscsi_vmk", "LinkState": "online", "UID": h.iqn,
			"Capabilities": "Second Level Lun ID", "Description": "iSCSI Software Adapter"}},
		{typ: "VimEsxCLIstoragecoreadapterlistScsiAdapter", fields: map[string]string{
			"HBAName": sdcDevice, "Driver": "scini", "LinkState": "link-up", "UID": h.sdcGUID,
			"Capabilities": "", "Description": "PowerFlex SDC"}},
	}
	return arrayResponse(rows)
}

func (w *world) adapterRescan(h *host, adapter string, all bool, typ string) cliResult {
	if adapter == "" && !all {
		return errorFault("You must specify either the --adapter or the --all option")
	}
	fabricAdapter := adapter == fcDevice || adapter == iscsiDevice || adapter == sdcDevice
	if adapter != "" && !fabricAdapter && adapter != "vmhba0" && adapter != "vmhba1" && adapter != "vmhba64" {
		return errorFault("Unable to find adapter " + adapter)
	}
	only := adapter
	if all {
		only = ""
	} else if !fabricAdapter {
		return boolResponse() // a local adapter: nothing from the fabric behind it
	}
	switch typ {
	case "add":
		w.rescanAdd(h, only)
	case "delete":
		w.rescanDelete(h, only)
	case "update":
		w.settle(h)
	case "":
		w.rescanAdd(h, only)
		w.rescanDelete(h, only)
	default:
		return errorFault(fmt.Sprintf("Invalid rescan type %q: expected add, delete or update", typ))
	}
	return boolResponse()
}

// runWrapper runs the installed ESXi wrapper in the chroot, as the VIB's esxcli
// plugin does, and turns its <output> XML into the command's answer.
func (w *world) runWrapper(h *host, cmd string, args map[string][]string) (cliResult, []string, int) {
	argv := []string{"/usr/sbin/chroot", w.root, "/bin/sh", w.pluginScript(h)}
	switch cmd {
	case "clone":
		argv = append(argv, "--clone", "-s", first(args["sourcevmdk"]), "-t", first(args["targetlun"]))
	case "taskGet":
		argv = append(argv, "--task-get", "-i", first(args["id"]))
	case "taskClean":
		argv = append(argv, "--task-clean", "-i", first(args["id"]))
	case "taskFind":
		argv = append(argv, "--task-find", "-t", first(args["targetlun"]), "-s", first(args["sourcevmdk"]))
	case "version":
		argv = append(argv, "--version")
	}
	out, err := ioutil.TempFile("", "vcsimx-wrapper-out-")
	if err != nil {
		return errorFault("Error running the plugin: " + err.Error()), argv, -1
	}
	defer os.Remove(out.Name())
	defer out.Close()
	var stderr bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	c := exec.CommandContext(ctx, argv[0], argv[1:]...)
	c.Env = []string{"PATH=/bin:/sbin:/usr/bin:/usr/sbin", "HOME=/", "LANG=C"}
	c.Dir = "/"
	c.Stdin = nil
	// Output goes to a file, not a pipe: the wrapper leaves a background
	// vmkfstools behind, which must not keep us waiting.
	c.Stdout = out
	c.Stderr = &stderr
	runErr := c.Run()
	rc := 0
	if runErr != nil {
		if ee, ok := runErr.(*exec.ExitError); ok {
			rc = ee.ExitCode()
		} else {
			return errorFault("Error running the plugin: " + runErr.Error()), argv, -1
		}
	}
	data, _ := ioutil.ReadFile(out.Name())
	status, message, perr := parseWrapperOutput(data)
	if perr != nil {
		return errorFault(fmt.Sprintf("Unable to parse the plugin output (exit status %d): %v; output: %q; stderr: %q",
			rc, perr, truncate(string(data), 400), truncate(stderr.String(), 400))), argv, rc
	}
	fields := map[string]string{"status": status, "message": message}
	typ := "VimEsxCLIvmkfstools" + cmd + "result"
	var res cliResult
	if w.o.pluginForm == "array" {
		res = arrayResponse([]row{{typ: typ, fields: fields}})
	} else {
		res = structResponse(typ, fields)
	}
	res.summary = "status " + status
	return res, argv, rc
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}

type wrapperOutput struct {
	XMLName   xml.Name `xml:"output"`
	Structure struct {
		TypeName string `xml:"typeName,attr"`
		Fields   []struct {
			Name   string `xml:"name,attr"`
			String string `xml:"string"`
		} `xml:"field"`
	} `xml:"structure"`
}

// parseWrapperOutput reads <output><structure typeName="result"><field
// name="status"><string>..</string></field>...</structure></output>. Invalid
// XML is an error, as it is for the real esxcli plugin host.
func parseWrapperOutput(data []byte) (string, string, error) {
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) == 0 {
		return "", "", fmt.Errorf("no output")
	}
	var o wrapperOutput
	if err := xml.Unmarshal(trimmed, &o); err != nil {
		return "", "", err
	}
	var status, message string
	var haveStatus bool
	for _, f := range o.Structure.Fields {
		switch f.Name {
		case "status":
			status, haveStatus = f.String, true
		case "message":
			message = f.String
		}
	}
	if !haveStatus {
		return "", "", fmt.Errorf("no status field")
	}
	return status, message, nil
}
