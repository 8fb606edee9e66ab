package main

// The ESXi side of the fabric (see test/sim/FABRIC.md): which array volumes a
// host sees after a rescan, their state, and the device nodes under
// ROOT/vmfs/devices/disks.

import (
	"encoding/json"
	"fmt"
	"io/ioutil"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

const (
	statusOn   = "on"
	statusOff  = "off"
	statusDead = "dead timeout"
)

type deviceState struct {
	Naa      string   `json:"naa"`
	Status   string   `json:"status"`
	Backing  string   `json:"backing"`
	Adapters []string `json:"adapters"`
	Vendor   string   `json:"vendor,omitempty"`
	Model    string   `json:"model,omitempty"`
	Changed  string   `json:"changed"`
}

type hostState struct {
	Host       string                  `json:"host"`
	Name       string                  `json:"name"`
	Initiators []string                `json:"initiators"`
	Adapters   map[string]string       `json:"adapters"` // vmhbaN -> initiator id
	SdcGUID    string                  `json:"sdc_guid"` // PowerFlex SDC GUID (an initiator too)
	Devices    map[string]*deviceState `json:"devices"`
}

type fabricLun struct {
	Naa        string   `json:"naa"`
	Backing    string   `json:"backing"`
	Initiators []string `json:"initiators"`
	Vendor     string   `json:"vendor,omitempty"`
	Model      string   `json:"model,omitempty"`
}

func now() string { return time.Now().UTC().Format(time.RFC3339Nano) }

func (w *world) loadHostState(h *host) error {
	st := &hostState{Devices: map[string]*deviceState{}}
	if b, err := ioutil.ReadFile(h.statePath); err == nil {
		if err := json.Unmarshal(b, st); err != nil {
			return fmt.Errorf("%s: %v", h.statePath, err)
		}
		if st.Devices == nil {
			st.Devices = map[string]*deviceState{}
		}
	} else if !os.IsNotExist(err) {
		return err
	}
	st.Host = h.ref.Value
	st.Name = h.name
	st.Initiators = []string{h.iqn, h.fcID(), h.sdcGUID}
	st.Adapters = map[string]string{iscsiDevice: h.iqn, fcDevice: h.fcID(), sdcDevice: h.sdcGUID}
	st.SdcGUID = h.sdcGUID
	h.state = st
	return w.saveHostState(h)
}

func writeFileAtomic(p string, data []byte) error {
	tmp := fmt.Sprintf("%s.tmp.%d", p, os.Getpid())
	if err := ioutil.WriteFile(tmp, data, 0644); err != nil {
		return err
	}
	return os.Rename(tmp, p)
}

func (w *world) saveHostState(h *host) error {
	b, err := json.MarshalIndent(h.state, "", "  ")
	if err != nil {
		return err
	}
	return writeFileAtomic(h.statePath, append(b, '\n'))
}

// readFabric returns the current mappings, by NAA (lower case).
func (w *world) readFabric() map[string]*fabricLun {
	r := map[string]*fabricLun{}
	ents, err := ioutil.ReadDir(filepath.Join(w.fabric, "luns"))
	if err != nil {
		return r
	}
	for _, e := range ents {
		if !strings.HasSuffix(e.Name(), ".json") || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		b, err := ioutil.ReadFile(filepath.Join(w.fabric, "luns", e.Name()))
		if err != nil {
			continue // removed between listing and reading: unmapped
		}
		var l fabricLun
		if err := json.Unmarshal(b, &l); err != nil || l.Naa == "" {
			continue
		}
		l.Naa = strings.ToLower(l.Naa)
		r[l.Naa] = &l
	}
	return r
}

func normHex(s string) string {
	return strings.ToLower(strings.NewReplacer(":", "", "-", "").Replace(s))
}

// matchAdapters returns the host adapters whose initiator appears in the list.
// Accepted forms: an iSCSI name (case-insensitive), "fc.<wwnn>:<wwpn>", a
// bare WWPN in hex with or without colons, or the host's PowerFlex SDC GUID
// (case-insensitive; seen through the SDC's adapter).
func (h *host) matchAdapters(initiators []string) []string {
	set := map[string]bool{}
	for _, i := range initiators {
		i = strings.TrimSpace(strings.ToLower(i))
		switch {
		case i == strings.ToLower(h.iqn):
			set[iscsiDevice] = true
		case i == strings.ToLower(h.sdcGUID):
			set[sdcDevice] = true
		case strings.HasPrefix(i, "fc."):
			if i == h.fcID() {
				set[fcDevice] = true
			}
		case normHex(i) == fmt.Sprintf("%016x", h.portWWN):
			set[fcDevice] = true
		}
	}
	var r []string
	for a := range set {
		r = append(r, a)
	}
	sort.Strings(r)
	return r
}

func (w *world) devicePath(naa string) string {
	return filepath.Join(w.root, "vmfs/devices/disks", naa)
}

// backingPath turns a fabric backing (an absolute path inside ROOT) into the
// relative symlink target seen from ROOT/vmfs/devices/disks, so the link works
// both inside the chroot and from outside.
func (w *world) backingTarget(backing string) (string, error) {
	if !strings.HasPrefix(backing, "/") {
		return "", fmt.Errorf("backing %q is not an absolute path inside the root", backing)
	}
	clean := filepath.Clean(backing)
	if strings.Contains(clean, "..") {
		return "", fmt.Errorf("backing %q escapes the root", backing)
	}
	return filepath.Rel(filepath.Join(w.root, "vmfs/devices/disks"), filepath.Join(w.root, clean))
}

// syncDeviceNode makes ROOT/vmfs/devices/disks/<naa> exist exactly while some
// host has the device in state "on".
func (w *world) syncDeviceNode(naa string) {
	var backing string
	for _, h := range w.hosts {
		if d, ok := h.state.Devices[naa]; ok && d.Status == statusOn {
			backing = d.Backing
			break
		}
	}
	p := w.devicePath(naa)
	if backing == "" {
		_ = os.Remove(p)
		return
	}
	target, err := w.backingTarget(backing)
	if err != nil {
		_ = os.Remove(p)
		return
	}
	if cur, err := os.Readlink(p); err == nil && cur == target {
		return
	}
	tmp := p + ".tmp"
	_ = os.Remove(tmp)
	if err := os.Symlink(target, tmp); err == nil {
		_ = os.Rename(tmp, p)
	}
}

// settle applies what happened on the fabric since the last look, without a
// rescan: a device whose mapping went away (or no longer includes this host)
// loses its paths and goes "dead timeout". Caller holds w.mu.
func (w *world) settle(h *host) bool {
	fab := w.readFabric()
	changed := false
	for naa, d := range h.state.Devices {
		if d.Status != statusOn {
			continue
		}
		l, ok := fab[naa]
		if !ok || len(h.matchAdapters(l.Initiators)) == 0 {
			d.Status = statusDead
			d.Changed = now()
			changed = true
			w.syncDeviceNode(naa)
		}
	}
	if changed {
		_ = w.saveHostState(h)
	}
	return changed
}

// rescanAdd discovers the fabric volumes visible to the host through the given
// adapters (all when empty). Caller holds w.mu.
func (w *world) rescanAdd(h *host, only string) {
	w.settle(h)
	fab := w.readFabric()
	for naa, l := range fab {
		ads := h.matchAdapters(l.Initiators)
		if only != "" {
			var keep []string
			for _, a := range ads {
				if a == only {
					keep = append(keep, a)
				}
			}
			ads = keep
		}
		if len(ads) == 0 {
			continue
		}
		if _, err := w.backingTarget(l.Backing); err != nil {
			continue
		}
		d, ok := h.state.Devices[naa]
		if !ok {
			d = &deviceState{Naa: naa}
			h.state.Devices[naa] = d
		}
		if !ok || d.Status == statusDead {
			d.Status = statusOn
			d.Changed = now()
		}
		d.Backing = l.Backing
		d.Adapters = ads
		d.Vendor, d.Model = l.Vendor, l.Model
		w.syncDeviceNode(naa)
	}
	_ = w.saveHostState(h)
}

// rescanDelete drops dead devices reached through the adapter (all when empty).
func (w *world) rescanDelete(h *host, only string) {
	w.settle(h)
	for naa, d := range h.state.Devices {
		if d.Status != statusDead {
			continue
		}
		through := only == ""
		for _, a := range d.Adapters {
			if a == only {
				through = true
			}
		}
		if through {
			delete(h.state.Devices, naa)
			w.syncDeviceNode(naa)
		}
	}
	_ = w.saveHostState(h)
}
