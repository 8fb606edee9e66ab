package main

// Host configuration the preflight reads: advanced settings
// (`esxcli system settings advanced list`) and the VAAI primitives of each
// device (`esxcli storage core device vaai status get`). This is our model of
// ESXi: option paths, ranges, defaults and field names follow real hosts; the
// values come from the defaults below, overridden by the host-config knob file.
//
// Knob file (-host-config), re-read on every command; one rule per line, '#'
// starts a comment:
//
//	SCOPE SETTING VALUE
//
// SCOPE is a host MoRef value (host-21), a host name, or * for every host; a
// host's own rule wins over *. SETTING is an advanced option path
// (/Disk/MaxLUN, /DataMover/HardwareAcceleratedMove, ...; VALUE must lie in
// its range) or one of vaai.ats, vaai.clone, vaai.zero, vaai.delete (VALUE
// supported|unsupported|unknown, for every device of the host) or vaai.plugin
// (the VAAI plugin name; "-" for none). A bad line is logged and ignored.

import (
	"bufio"
	"flag"
	"fmt"
	"log"
	"os"
	"sort"
	"strconv"
	"strings"
)

var hostConfigPath string

type advOption struct {
	path     string
	def      int64
	min, max int64
	desc     string
}

// The options the preflight reads, with the ranges and defaults of ESXi 8.
var advOptions = []advOption{
	{"/DataMover/HardwareAcceleratedInit", 1, 0, 1, "Enable hardware accelerated VMFS data initialization (requires compliant hardware)"},
	{"/DataMover/HardwareAcceleratedMove", 1, 0, 1, "Enable hardware accelerated VMFS data movement (requires compliant hardware)"},
	{"/DataMover/MaxHWTransferSize", 4096, 4, 16384, "Maximum transfer size in KB to use for hardware data movement requests"},
	{"/Disk/MaxLUN", 1024, 1, 16384, "Maximum number of LUNs per target that we scan for."},
	{"/VMFS3/HardwareAcceleratedLocking", 1, 0, 1, "Enable hardware accelerated VMFS locking (requires compliant hardware)"},
}

var vaaiKeys = map[string]string{"vaai.ats": "ATSStatus", "vaai.clone": "CloneStatus", "vaai.zero": "ZeroStatus", "vaai.delete": "DeleteStatus"}

func init() {
	flag.StringVar(&hostConfigPath, "host-config", "", "host configuration knob file (advanced settings, VAAI status), re-read on every command")
	namespaces = append(namespaces,
		cliNamespace{name: "system.settings.advanced", help: "Commands to list and set the advanced options of the VMkernel.", methods: []cliMethod{
			{name: "list", help: "List the advanced options available from the VMkernel.", params: []cliParam{
				{display: "delta", help: "Only display options whose values differ from their default.", aliases: []string{"--delta", "-d"}, flag: true},
				{display: "option", help: "Only get the information for a single VMkernel advanced option.", aliases: []string{"--option", "-o"}},
				{display: "tree", help: "Limit the list of advanced option to a specific sub tree.", aliases: []string{"--tree", "-t"}},
			}, hints: [][2]string{{"formatter", "tree"}}},
		}},
		cliNamespace{name: "storage.core.device.vaai.status", help: "Get the VAAI status of the devices.", methods: []cliMethod{
			{name: "get", help: "Display the current status of the VAAI primitives of a device.", params: []cliParam{pDevice},
				hints: [][2]string{{"formatter", "tree"}}},
		}},
	)
}

func findAdvOption(path string) *advOption {
	for i := range advOptions {
		if advOptions[i].path == path {
			return &advOptions[i]
		}
	}
	return nil
}

// hostConfig reads the knob file for host h: the advanced option values and
// VAAI fields that differ from the defaults.
func (w *world) hostConfig(h *host) (map[string]int64, map[string]string) {
	adv := map[string]int64{}
	vaai := map[string]string{}
	if hostConfigPath == "" {
		return adv, vaai
	}
	f, err := os.Open(hostConfigPath)
	if err != nil {
		if !os.IsNotExist(err) {
			log.Printf("host-config: %v", err)
		}
		return adv, vaai
	}
	defer f.Close()
	type rule struct{ key, value string }
	var wild, own []rule
	sc := bufio.NewScanner(f)
	n := 0
	for sc.Scan() {
		n++
		line := strings.TrimSpace(sc.Text())
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = strings.TrimSpace(line[:i])
		}
		if line == "" {
			continue
		}
		p := strings.Fields(line)
		if len(p) != 3 {
			log.Printf("host-config line %d ignored: want SCOPE SETTING VALUE: %q", n, line)
			continue
		}
		r := rule{p[1], p[2]}
		switch p[0] {
		case "*":
			wild = append(wild, r)
		case h.ref.Value, h.name:
			own = append(own, r)
		}
	}
	for _, r := range append(wild, own...) {
		if o := findAdvOption(r.key); o != nil {
			v, err := strconv.ParseInt(r.value, 10, 64)
			if err != nil || v < o.min || v > o.max {
				log.Printf("host-config: %s %s ignored: want a whole number from %d to %d", r.key, r.value, o.min, o.max)
				continue
			}
			adv[r.key] = v
		} else if field, ok := vaaiKeys[r.key]; ok {
			if r.value != "supported" && r.value != "unsupported" && r.value != "unknown" {
				log.Printf("host-config: %s %s ignored: want supported, unsupported or unknown", r.key, r.value)
				continue
			}
			vaai[field] = r.value
		} else if r.key == "vaai.plugin" {
			vaai["VAAIPluginName"] = strings.TrimPrefix(r.value, "-")
		} else {
			log.Printf("host-config: unknown setting %q ignored", r.key)
		}
	}
	return adv, vaai
}

// executeHostConfig answers the commands of this file; false for any other.
func (w *world) executeHostConfig(h *host, nsName, cmd string, args map[string][]string) (cliResult, bool) {
	switch nsName + " " + cmd {
	case "system.settings.advanced list":
		return w.advancedList(h, first(args["option"]), first(args["tree"]), isTrue(first(args["delta"]))), true
	case "storage.core.device.vaai.status get":
		return w.vaaiStatus(h, first(args["device"])), true
	}
	return cliResult{}, false
}

func (w *world) advancedList(h *host, option, tree string, delta bool) cliResult {
	adv, _ := w.hostConfig(h)
	// ESXi names options by their path ("/Disk/MaxLUN"); the dotted form the
	// vSphere client shows ("Disk.MaxLUN") is not an option path here.
	if option != "" && findAdvOption(option) == nil {
		return errorFault("Unable to find option " + option)
	}
	var rows []row
	for _, o := range advOptions {
		if option != "" && o.path != option {
			continue
		}
		if tree != "" && !strings.HasPrefix(o.path, strings.TrimSuffix(tree, "/")+"/") {
			continue
		}
		v, set := adv[o.path]
		if !set {
			v = o.def
		}
		if delta && v == o.def {
			continue
		}
		rows = append(rows, row{typ: "VimEsxCLIsystemsettingsadvancedlistOption", fields: map[string]string{
			"Path": o.path, "Type": "integer",
			"IntValue": strconv.FormatInt(v, 10), "DefaultIntValue": strconv.FormatInt(o.def, 10),
			"MinValue": strconv.FormatInt(o.min, 10), "MaxValue": strconv.FormatInt(o.max, 10),
			"StringValue": "", "DefaultStringValue": "", "ValidCharacters": "",
			"Description": o.desc, "HostSpecific": "false", "Impact": "none",
		}})
	}
	if tree != "" && len(rows) == 0 && !delta {
		return errorFault("Unable to find option tree " + tree)
	}
	return arrayResponse(rows)
}

func (w *world) vaaiStatus(h *host, naa string) cliResult {
	_, vaai := w.hostConfig(h)
	w.settle(h)
	naa = strings.ToLower(naa)
	var names []string
	for n := range w.staticLuns {
		names = append(names, n)
	}
	for n, d := range h.state.Devices {
		if _, ok := w.staticLuns[n]; !ok && d.Status != statusDead {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	var rows []row
	for _, n := range names {
		if naa != "" && n != naa {
			continue
		}
		fields := map[string]string{"Device": n, "VAAIPluginName": "",
			"ATSStatus": "supported", "CloneStatus": "supported", "ZeroStatus": "supported", "DeleteStatus": "supported"}
		for k, v := range vaai {
			fields[k] = v
		}
		rows = append(rows, row{typ: "VimEsxCLIstoragecoredevicevaaistatusgetDevice", fields: fields})
	}
	if naa != "" && len(rows) == 0 {
		return errorFault(fmt.Sprintf("Unknown device %s", naa))
	}
	return arrayResponse(rows)
}
