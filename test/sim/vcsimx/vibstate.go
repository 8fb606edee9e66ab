package main

// Per-host state of the vmkfstools-wrapper VIB, shared with the ESXi shell
// tools of the tree (test/sim/esxi/esxcli, hostd, secureBoot.py) under
// ROOT/var/sim/esxi/<host MoRef value>/.  A host whose directory holds a
// hostd-plugins file has its own state: the esxcli plugin namespace
// `vmkfstools` exists only when hostd loaded it at its last (simulated)
// restart, and it runs the host's own installed wrapper.  A host without
// that file keeps the world's shared, preinstalled plugin
// (ROOT/opt/redhat/vmkfstools-wrapper), as before.

import (
	"flag"
	"io/ioutil"
	"os"
	"path/filepath"
	"strings"
)

var (
	noVibHosts = flag.String("no-vib-hosts", "", "hosts (MoRef values or names, comma-separated, or \"all\") that start without the VIB")
	secureBoot = flag.String("secure-boot-hosts", "", "hosts (MoRef values or names, comma-separated, or \"all\") in secure boot: community VIBs are refused")
)

func (w *world) vibDir(h *host) string {
	return filepath.Join(w.root, "var/sim/esxi", h.ref.Value)
}

func (w *world) hostOwnsVib(h *host) bool {
	if h == nil {
		return false
	}
	_, err := os.Stat(filepath.Join(w.vibDir(h), "hostd-plugins"))
	return err == nil
}

// pluginRegistered: does hostd on h serve the vmkfstools esxcli namespace?
func (w *world) pluginRegistered(h *host) bool {
	if !w.hostOwnsVib(h) {
		return w.vibInstalled()
	}
	b, err := ioutil.ReadFile(filepath.Join(w.vibDir(h), "hostd-plugins"))
	return err == nil && strings.HasPrefix(string(b), "vmkfstools ")
}

// pluginScript: the wrapper the plugin runs on h, as a path inside the tree.
func (w *world) pluginScript(h *host) string {
	if !w.hostOwnsVib(h) {
		return "/opt/redhat/vmkfstools-wrapper"
	}
	return "/var/sim/esxi/" + h.ref.Value + "/vib/opt/redhat/vmkfstools-wrapper"
}

func listed(list string, h *host) bool {
	for _, v := range strings.Split(list, ",") {
		v = strings.TrimSpace(v)
		if v == "all" || v == h.ref.Value || v == h.name {
			return true
		}
	}
	return false
}

// initVibState applies -no-vib-hosts and -secure-boot-hosts.
func (w *world) initVibState() error {
	for _, h := range w.hosts {
		dir := w.vibDir(h)
		if err := os.MkdirAll(dir, 0755); err != nil {
			return err
		}
		if listed(*noVibHosts, h) {
			os.RemoveAll(filepath.Join(dir, "vib"))
			if err := ioutil.WriteFile(filepath.Join(dir, "hostd-plugins"), nil, 0644); err != nil {
				return err
			}
		}
		if listed(*secureBoot, h) {
			if err := ioutil.WriteFile(filepath.Join(dir, "secure-boot"), []byte("enabled\n"), 0644); err != nil {
				return err
			}
		}
	}
	return nil
}
