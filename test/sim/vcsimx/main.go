// vcsimx: the simulated vCenter + ESXi API of the test world.
//
// It runs govmomi's vcsim (VPX model, Debian's govmomi 0.24) for login, the
// property collector, inventory and /folder, builds the world's inventory
// (a SAN datastore inside the ESXi-like root, VMs with real disk files, FC and
// iSCSI adapters with multipath paths) and answers itself, in front of vcsim,
// what 0.24 lacks: esxcli over ExecuteSoap (FetchCLIInfo, storage core
// device/adapter, system version, the vmkfstools plugin namespace that runs
// the project's own ESXi wrapper in a chroot), plus a JSON-lines call log,
// fault injection and session checks on /folder.
//
// The esxcli answers are this project's model of ESXi, shaped after real
// ESXi responses; everything else is real vcsim behaviour.
package main

import (
	"crypto/tls"
	"flag"
	"fmt"
	"io/ioutil"
	"log"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"strings"
	"syscall"

	"github.com/vmware/govmomi/simulator"
)

type options struct {
	listen     string
	root       string
	fabric     string
	calls      string
	faults     string
	user       string
	pass       string
	ready      string
	wrapper    string
	vmName     string
	dsName     string
	diskMiB    int
	hosts      int
	dsNaa      string
	rdmNaa     string
	dsPaths    string
	tlsCert    string
	tlsKey     string
	esxVersion string
	pluginForm string
	matrix     bool
}

func main() {
	var o options
	flag.StringVar(&o.listen, "l", "127.0.0.1:0", "listen address (loopback only; port 0 picks a free port)")
	flag.StringVar(&o.root, "root", "", "ESXi-like root directory (required)")
	flag.StringVar(&o.fabric, "fabric", "", "fabric state directory shared with the array fakes (required)")
	flag.StringVar(&o.calls, "calls", "", "append one JSON line per request to this file")
	flag.StringVar(&o.faults, "faults", "", "fault injection file, re-read on every request")
	flag.StringVar(&o.user, "user", "administrator@vsphere.local", "vCenter user name")
	flag.StringVar(&o.pass, "pass", "pass", "vCenter password")
	flag.StringVar(&o.ready, "ready", "", "write URL=... and inventory facts here once listening")
	flag.StringVar(&o.wrapper, "wrapper", "", "ESXi vmkfstools wrapper script, installed as ROOT/opt/redhat/vmkfstools-wrapper")
	flag.StringVar(&o.vmName, "vm-name", "vm-xcopy-1", "name of the main VM")
	flag.StringVar(&o.dsName, "ds-name", "san-ds-1", "name of the SAN (VMFS) datastore")
	flag.IntVar(&o.diskMiB, "disk-mib", 8, "size of the main VM's disk in MiB")
	flag.IntVar(&o.hosts, "hosts", 2, "number of ESXi hosts in the cluster")
	flag.StringVar(&o.dsNaa, "ds-naa", "naa.600a098038314d4f4e2b4d6a6f5a7a31", "NAA id of the LUN backing the datastore")
	flag.StringVar(&o.rdmNaa, "rdm-naa", "", "NAA id of the RDM VM's raw LUN (default: a Pure FlashArray one); the array it belongs to follows from its prefix")
	flag.StringVar(&o.dsPaths, "ds-paths", "vmhba2:active,vmhba65:active", "multipath paths of the datastore LUN: adapter:state,...")
	flag.StringVar(&o.tlsCert, "tls-cert", "", "PEM certificate (chain) to serve; default: vcsim's built-in localhost certificate")
	flag.StringVar(&o.tlsKey, "tls-key", "", "PEM private key of -tls-cert")
	flag.StringVar(&o.esxVersion, "esx-version", "8.0.2", "ESXi version reported by 'system version get'")
	flag.StringVar(&o.pluginForm, "plugin-response", "single", "shape of vmkfstools plugin answers: single (one structure) or array (ArrayOfDataObject)")
	flag.BoolVar(&o.matrix, "matrix", false, "add the copy-offload test matrix's VMs and second datastore (matrix.go)")
	flag.Parse()

	if flag.NArg() != 0 {
		log.Fatalf("unexpected arguments: %v", flag.Args())
	}
	if o.root == "" || o.fabric == "" {
		log.Fatal("-root and -fabric are required")
	}
	if !strings.HasPrefix(o.listen, "127.0.0.1:") && !strings.HasPrefix(o.listen, "[::1]:") && !strings.HasPrefix(o.listen, "localhost:") {
		log.Fatalf("-l %s: only loopback addresses are allowed", o.listen)
	}
	if o.pluginForm != "single" && o.pluginForm != "array" {
		log.Fatalf("-plugin-response must be single or array")
	}
	if o.diskMiB <= 0 || o.hosts <= 0 {
		log.Fatal("-disk-mib and -hosts must be positive")
	}
	var err error
	for _, p := range []*string{&o.root, &o.fabric, &o.calls, &o.faults, &o.ready, &o.wrapper} {
		if *p != "" {
			if *p, err = filepath.Abs(*p); err != nil {
				log.Fatal(err)
			}
		}
	}

	log.SetPrefix("vcsimx: ")
	log.SetFlags(log.LstdFlags | log.Lmicroseconds)

	model := simulator.VPX()
	model.Datacenter = 1
	model.Cluster = 1
	model.ClusterHost = o.hosts
	model.Host = 0
	model.Datastore = 0
	model.Machine = 0
	model.Portgroup = 0
	model.Autostart = false
	if err := model.Create(); err != nil {
		log.Fatalf("creating the vcsim model: %v", err)
	}

	w, err := buildWorld(model, &o)
	if err != nil {
		log.Fatalf("building the world: %v", err)
	}
	if err := w.initVibState(); err != nil {
		log.Fatalf("VIB state: %v", err)
	}

	tlsConf := new(tls.Config)
	if o.tlsCert != "" {
		cert, err := tls.LoadX509KeyPair(o.tlsCert, o.tlsKey)
		if err != nil {
			log.Fatalf("loading -tls-cert/-tls-key: %v", err)
		}
		tlsConf.Certificates = []tls.Certificate{cert}
	}
	model.Service.TLS = tlsConf
	model.Service.Listen = &url.URL{Host: o.listen, User: url.UserPassword(o.user, o.pass)}

	srv := model.Service.NewServer()
	front := newFront(w, &o, srv.Config.Handler)
	srv.Config.Handler = front

	sdkURL := fmt.Sprintf("https://%s/sdk", srv.Listener.Addr().String())
	log.Printf("listening on %s", sdkURL)
	if o.ready != "" {
		if err := writeReady(o.ready, sdkURL, w, &o); err != nil {
			log.Fatalf("writing %s: %v", o.ready, err)
		}
	}

	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	s := <-sig
	// Nothing to tear down: the world's files stay for the tests to inspect,
	// and open connections die with the process.
	log.Printf("stopping on %v", s)
	front.close()
	os.Exit(0)
}

// shellQuote quotes a value for POSIX sh only when it needs it.
func shellQuote(s string) string {
	safe := s != ""
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./:@%+=,", r)) {
			safe = false
			break
		}
	}
	if safe {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

func writeReady(path, sdkURL string, w *world, o *options) error {
	u, _ := url.Parse(sdkURL)
	facts := map[string]string{
		"URL":             sdkURL,
		"HOSTPORT":        u.Host,
		"PID":             fmt.Sprint(os.Getpid()),
		"DATACENTER":      w.dcName,
		"CLUSTER":         w.clusterName,
		"DS_NAME":         w.dsName,
		"DS_MOREF":        w.dsRef.Value,
		"DS_NAA":          w.dsNaa,
		"DS_UUID":         w.dsUUID,
		"DS_DIR":          w.dsDir,
		"VM_ID":           w.mainVM.ref.Value,
		"VM_NAME":         w.mainVM.name,
		"VM_VMDK":         w.mainVM.vmdk,
		"VM_FLAT":         w.mainVM.flatPath,
		"VM_HOST":         w.hosts[0].ref.Value,
		"RDM_VM_ID":       w.rdmVM.ref.Value,
		"RDM_VM_NAME":     w.rdmVM.name,
		"RDM_VMDK":        w.rdmVM.vmdk,
		"RDM_NAA":         w.rdmNaa,
		"VVOL_VM_ID":      w.vvolVM.ref.Value,
		"VVOL_VM_NAME":    w.vvolVM.name,
		"VVOL_VMDK":       w.vvolVM.vmdk,
		"VVOL_ID":         w.vvolID,
		"DISK_BYTES":      fmt.Sprint(w.mainVM.capacity),
		"HOSTS":           strings.Join(w.hostIDs(), " "),
		"HOST_NAMES":      strings.Join(w.hostNames(), " "),
		"HOST_IQN":        w.hosts[0].iqn,
		"ARRAY_FC_WWPNS":  strings.Join(arrayFCPorts(), " "),
		"ARRAY_ISCSI_IQN": arrayIQN(),
		"DS_PATHS":        o.dsPaths,
		"HOST_FC":         w.hosts[0].fcID(),
		"HOST_SDC_GUID":   w.hosts[0].sdcGUID,
		"HOST_STATE":      w.hosts[0].statePath,
		"WRAPPER_PATH":    "/opt/redhat/vmkfstools-wrapper",
		"ROOT":            o.root,
		"FABRIC":          o.fabric,
		"USERNAME":        o.user,
		"ESX_VERSION":     o.esxVersion,
		"PLUGIN_ANSWER":   o.pluginForm,
	}
	if o.matrix {
		w.matrixFacts(facts)
	}
	keys := make([]string, 0, len(facts))
	for k := range facts {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, "%s=%s\n", k, shellQuote(facts[k]))
	}
	tmp := path + ".tmp"
	if err := ioutil.WriteFile(tmp, []byte(b.String()), 0644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
