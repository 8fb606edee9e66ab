package main

// The copy-offload test matrix's VMs (vcsimx -matrix): the disk types and
// layouts a migration plan meets, each disk a real file (or a raw LUN) so a
// copy can be compared byte for byte.
//
//   mx-thin       one thin disk: a sparse flat file, thinProvisioned=true
//   mx-lazy       one thick lazy-zeroed disk: fully allocated flat file
//   mx-eager      one thick eager-zeroed disk: allocated, eagerlyScrub=true
//   mx-multi      three disks (thin, lazy, eager) on one controller
//   mx-two-ds     two disks on two datastores backed by two LUNs of the same
//                 array; the second datastore's name holds spaces
//   mx-rdm        an RDM in virtual compatibility and one in physical
//                 compatibility mode, each on its own raw LUN
//   mx-snap       a warm migration's view of a VMFS disk: the backing is the
//                 delta mx-snap-000001.vmdk whose parent is the base disk
//   mx-vvol-snap  the same chain on VVols: base and delta have their own
//                 backingObjectId
//
// Sizes are small and deliberately not multiples of 1 MiB.  A delta's
// extent (-delta.vmdk) is a sparse file of the disk's size whose non-zero
// 1 MiB grains are the ones the snapshot changed; the base keeps the bytes a
// warm base copy must deliver.  An RDM's mapping file (-rdm.vmdk or
// -rdmp.vmdk) holds the raw device's path, which the simulated vmkfstools
// reads; the raw LUNs are static devices with a node under
// ROOT/vmfs/devices/disks whose bytes live in ROOT/arrays/raw-luns/<naa>.

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"io/ioutil"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25"
	"github.com/vmware/govmomi/vim25/types"
)

const kib = int64(1024)

type mxDiskSpec struct {
	kind string // thin, lazy, eager, snap, vvolsnap, rdmv, rdmp
	ds   int    // 0: the world's datastore, 1: the second one
	size int64
}

type mxVMSpec struct {
	name  string
	disks []mxDiskSpec
}

var matrixVMs = []mxVMSpec{
	{"mx-thin", []mxDiskSpec{{"thin", 0, 3*mib + 192*kib}}},
	{"mx-lazy", []mxDiskSpec{{"lazy", 0, 2*mib + 4*kib}}},
	{"mx-eager", []mxDiskSpec{{"eager", 0, 2*mib + 512*kib}}},
	{"mx-multi", []mxDiskSpec{{"thin", 0, 2*mib + 8*kib}, {"lazy", 0, 2 * mib}, {"eager", 0, 1*mib + 520*kib}}},
	{"mx-two-ds", []mxDiskSpec{{"lazy", 0, 1*mib + 64*kib}, {"thin", 1, 2*mib + 36*kib}}},
	{"mx-rdm", []mxDiskSpec{{"rdmv", 0, 2*mib + 16*kib}, {"rdmp", 0, 1*mib + 96*kib}}},
	{"mx-snap", []mxDiskSpec{{"snap", 0, 3*mib + 12*kib}}},
	{"mx-vvol-snap", []mxDiskSpec{{"vvolsnap", 0, 2*mib + 44*kib}}},
}

// One file of a disk chain on a datastore.
type mxFile struct {
	name string // file name in the VM's directory on its datastore
	typ  string // diskDescriptor or diskExtent
}

type mxDisk struct {
	vm       string
	index    int
	kind     string
	ds       *mxDatastore
	dir      string // the VM's directory on the disk's datastore
	vmdk     string // "[ds] vm/file.vmdk" the backing's fileName (top of the chain)
	base     string // "[ds] vm/file.vmdk" of the base disk (= vmdk without snapshots)
	chain    [][]mxFile
	flat     string // the base's extent (flat file) or, for RDM, the raw LUN's bytes
	delta    string // the delta's extent, or ""
	capacity int64
	key      int32
	naa      string // RDM raw LUN
	vvolBase string
	vvolTop  string
}

type mxDatastore struct {
	name, uuid, naa, dir string
	ref                  types.ManagedObjectReference
}

// matrixLuns gives the NAA ids of the matrix's extra static LUNs: the second
// datastore's (same array as the first: same NAA prefix) and one raw LUN per
// RDM disk (Pure FlashArray ids, so the world's FlashArray can hold them).
func (w *world) matrixLuns() {
	w.ds2 = &mxDatastore{name: "san ds 2", naa: w.dsNaa[:len(w.dsNaa)-8] + stableHex("ds2-naa", 8)}
	w.ds2.uuid = stableHex("ds2-uuid", 8) + "-" + stableHex("ds2-uuid2", 8) + "-" + stableHex("ds2-uuid3", 4) + "-" + stableHex("ds2-uuid4", 12)
	w.staticLuns[w.ds2.naa] = staticLun{w.ds2.naa, "NETAPP", "LUN C-Mode", 1024 * 1024}
	w.extraLuns = append(w.extraLuns, extraLun{w.ds2.naa, 2, 0})
	no := int32(3)
	for _, vm := range matrixVMs {
		for i, d := range vm.disks {
			if d.kind != "rdmv" && d.kind != "rdmp" {
				continue
			}
			naa := "naa.624a9370" + stableHex(fmt.Sprintf("mx-raw-%s-%d", vm.name, i), 24)
			w.staticLuns[naa] = staticLun{naa, "PURE", "FlashArray", 64}
			w.staticSizes[naa] = d.size
			w.extraLuns = append(w.extraLuns, extraLun{naa, no, 1})
			no++
		}
	}
}

func writeFull(p string, size int64, fill func(off int64, b []byte)) error {
	tmp := p + ".tmp"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0644)
	if err != nil {
		return err
	}
	b := make([]byte, 64*kib)
	for off := int64(0); off < size; off += int64(len(b)) {
		n := int64(len(b))
		if size-off < n {
			n = size - off
		}
		fill(off, b[:n])
		if _, err := f.Write(b[:n]); err != nil {
			f.Close()
			return err
		}
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, p)
}

// writeSparse makes a sparse file of size with random bytes only in the
// given [off, off+len) regions: a thin disk's flat file or a delta extent.
func writeSparse(p string, size int64, regions [][2]int64) error {
	tmp := p + ".tmp"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0644)
	if err != nil {
		return err
	}
	if err := f.Truncate(size); err != nil {
		f.Close()
		return err
	}
	for _, r := range regions {
		if r[0] >= size {
			continue
		}
		if r[0]+r[1] > size {
			r[1] = size - r[0]
		}
		b := make([]byte, r[1])
		if _, err := io.ReadFull(rand.Reader, b); err != nil {
			f.Close()
			return err
		}
		if _, err := f.WriteAt(b, r[0]); err != nil {
			f.Close()
			return err
		}
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, p)
}

func randomFill(_ int64, b []byte) { _, _ = io.ReadFull(rand.Reader, b) }

func deltaDescriptor(extent, parent string, sectors int64) string {
	return fmt.Sprintf(`# Disk DescriptorFile
version=1
encoding="UTF-8"
CID=fffffffe
parentCID=fffffffe
createType="vmfsSparse"
parentFileNameHint="%s"

# Extent description
RW %d VMFSSPARSE "%s"

# The Disk Data Base
#DDB

ddb.longContentID = "%s"
`, parent, sectors, extent, stableHex("cid-"+extent, 32))
}

// makeDisk writes one disk's files and returns its vCenter backing.
func (w *world) makeDisk(d *mxDisk) (types.BaseVirtualDeviceBackingInfo, error) {
	base := fmt.Sprintf("%s_%d", d.vm, d.index)
	if d.index == 0 {
		base = d.vm
	}
	dsPath := func(f string) string { return fmt.Sprintf("[%s] %s/%s", d.ds.name, d.vm, f) }
	d.base = dsPath(base + ".vmdk")
	d.vmdk = d.base
	uuid := strings.ToUpper(stableHex(fmt.Sprintf("mx-uuid-%s-%d", d.vm, d.index), 32))
	sectors := d.capacity / 512

	switch d.kind {
	case "rdmv", "rdmp":
		mapping, createType, mode := base+"-rdm.vmdk", "vmfsRawDeviceMap", "virtualMode"
		if d.kind == "rdmp" {
			mapping, createType, mode = base+"-rdmp.vmdk", "vmfsPassthroughRawDeviceMap", "physicalMode"
		}
		raw := filepath.Join(w.root, "arrays/raw-luns", d.naa)
		if err := os.MkdirAll(filepath.Dir(raw), 0755); err != nil {
			return nil, err
		}
		if err := writeFull(raw, d.capacity, randomFill); err != nil {
			return nil, err
		}
		node := filepath.Join(w.root, "vmfs/devices/disks", d.naa)
		_ = os.Remove(node)
		if err := os.Symlink("../../../arrays/raw-luns/"+d.naa, node); err != nil {
			return nil, err
		}
		d.flat = raw
		dev := "/vmfs/devices/disks/" + d.naa
		if err := ioutil.WriteFile(filepath.Join(d.dir, mapping), []byte(dev+"\n"), 0600); err != nil {
			return nil, err
		}
		if err := ioutil.WriteFile(filepath.Join(d.dir, base+".vmdk"),
			[]byte(descriptor(mapping, sectors, createType, "VMFSRDM", "fffffffe")), 0644); err != nil {
			return nil, err
		}
		d.chain = [][]mxFile{{{base + ".vmdk", "diskDescriptor"}, {mapping, "diskExtent"}}}
		sl := w.staticLuns[d.naa]
		lu := lunUUID(d.naa, sl.model)
		return &types.VirtualDiskRawDiskMappingVer1BackingInfo{
			VirtualDeviceFileBackingInfo: types.VirtualDeviceFileBackingInfo{FileName: d.vmdk, Datastore: &d.ds.ref},
			LunUuid:                      lu,
			DeviceName:                   "/vmfs/devices/disks/vml." + lu,
			CompatibilityMode:            mode,
			DiskMode:                     "independent_persistent",
			Uuid:                         uuid,
			Sharing:                      "sharingNone",
		}, nil
	}

	flat := base + "-flat.vmdk"
	d.flat = filepath.Join(d.dir, flat)
	var err error
	switch d.kind {
	case "thin":
		// Written: the first 256 KiB, the last 4 KiB and, on a disk above
		// 3 MiB, 128 KiB past 1 MiB; the 1 MiB grain before the last one
		// stays unallocated.
		regions := [][2]int64{{0, 256 * kib}, {d.capacity - 4*kib, 4 * kib}}
		if d.capacity > 3*mib {
			regions = append(regions, [2]int64{mib + 64*kib, 128 * kib})
		}
		err = writeSparse(d.flat, d.capacity, regions)
	case "lazy", "eager":
		// Allocated in full; the second half holds explicit zeros.
		half := d.capacity / 2
		err = writeFull(d.flat, d.capacity, func(off int64, b []byte) {
			if off >= half {
				for i := range b {
					b[i] = 0
				}
				return
			}
			randomFill(off, b)
		})
	case "snap":
		// A thin base, so its allocation and the delta's can be told apart.
		err = writeSparse(d.flat, d.capacity, [][2]int64{{0, 512 * kib}, {2 * mib, 256 * kib}})
	default: // vvolsnap: a fully written base
		err = writeFull(d.flat, d.capacity, randomFill)
	}
	if err != nil {
		return nil, err
	}
	if err := ioutil.WriteFile(filepath.Join(d.dir, base+".vmdk"),
		[]byte(descriptor(flat, sectors, "vmfs", "VMFS", "fffffffe")), 0644); err != nil {
		return nil, err
	}
	d.chain = [][]mxFile{{{base + ".vmdk", "diskDescriptor"}, {flat, "diskExtent"}}}
	b := &types.VirtualDiskFlatVer2BackingInfo{
		VirtualDeviceFileBackingInfo: types.VirtualDeviceFileBackingInfo{FileName: d.base, Datastore: &d.ds.ref},
		DiskMode:                     string(types.VirtualDiskModePersistent),
		Split:                        types.NewBool(false),
		WriteThrough:                 types.NewBool(false),
		ThinProvisioned:              types.NewBool(d.kind == "thin" || d.kind == "snap"),
		EagerlyScrub:                 types.NewBool(d.kind == "eager"),
		Uuid:                         uuid,
		ContentId:                    stableHex("mx-content-"+base, 32),
		DigestEnabled:                types.NewBool(false),
		Sharing:                      "sharingNone",
	}
	if d.kind != "snap" && d.kind != "vvolsnap" {
		return b, nil
	}
	if d.kind == "vvolsnap" {
		d.vvolBase = "rfc4122." + stableUUID("mx-vvol-base-"+base)
		d.vvolTop = "rfc4122." + stableUUID("mx-vvol-delta-"+base)
		b.BackingObjectId = d.vvolBase
	}
	// The snapshot: the VM now writes to a delta whose parent is the base.
	top := base + "-000001"
	d.delta = filepath.Join(d.dir, top+"-delta.vmdk")
	if err := writeSparse(d.delta, d.capacity, [][2]int64{{0, 64 * kib}, {2 * mib, 4 * kib}}); err != nil {
		return nil, err
	}
	if err := ioutil.WriteFile(filepath.Join(d.dir, top+".vmdk"),
		[]byte(deltaDescriptor(top+"-delta.vmdk", base+".vmdk", sectors)), 0644); err != nil {
		return nil, err
	}
	d.chain = append(d.chain, []mxFile{{top + ".vmdk", "diskDescriptor"}, {top + "-delta.vmdk", "diskExtent"}})
	d.vmdk = dsPath(top + ".vmdk")
	child := &types.VirtualDiskFlatVer2BackingInfo{
		VirtualDeviceFileBackingInfo: types.VirtualDeviceFileBackingInfo{FileName: d.vmdk, Datastore: &d.ds.ref},
		DiskMode:                     b.DiskMode,
		Split:                        types.NewBool(false),
		WriteThrough:                 types.NewBool(false),
		ThinProvisioned:              types.NewBool(false),
		Uuid:                         uuid,
		ContentId:                    stableHex("mx-content-"+top, 32),
		DeltaDiskFormat:              "redoLogFormat",
		Parent:                       b,
		Sharing:                      "sharingNone",
	}
	if d.kind == "vvolsnap" {
		child.BackingObjectId = d.vvolTop
	}
	return child, nil
}

// buildMatrix creates the second datastore and the matrix VMs.
func (w *world) buildMatrix(ctx context.Context, c *vim25.Client, folder *object.Folder, pool *object.ResourcePool, hostObj *object.HostSystem) error {
	ref, dir, err := w.makeDatastore(ctx, c, w.ds2.name, w.ds2.uuid, w.ds2.naa)
	if err != nil {
		return fmt.Errorf("datastore %q: %v", w.ds2.name, err)
	}
	w.ds2.ref, w.ds2.dir = ref, dir
	ds1 := &mxDatastore{name: w.dsName, uuid: w.dsUUID, naa: w.dsNaa, dir: w.dsDir, ref: w.dsRef}
	lunIdx := 0
	for _, spec := range matrixVMs {
		v, err := w.createVM(ctx, folder, pool, hostObj, spec.name, "matrix")
		if err != nil {
			return fmt.Errorf("VM %q: %v", spec.name, err)
		}
		vm := simulator.Map.Get(v.ref).(*simulator.VirtualMachine)
		for i, ds := range spec.disks {
			d := &mxDisk{vm: spec.name, index: i, kind: ds.kind, ds: ds1, capacity: ds.size, key: int32(2000 + i)}
			if ds.ds == 1 {
				d.ds = w.ds2
			}
			d.dir = filepath.Join(d.ds.dir, spec.name)
			if err := os.MkdirAll(d.dir, 0755); err != nil {
				return err
			}
			if ds.kind == "rdmv" || ds.kind == "rdmp" {
				d.naa = w.rawLuns()[lunIdx]
				lunIdx++
			}
			backing, err := w.makeDisk(d)
			if err != nil {
				return fmt.Errorf("VM %q disk %d: %v", spec.name, i, err)
			}
			v.mx = append(v.mx, d)
			simulator.Map.WithLock(vm, func() {
				var ctrlKey int32 = 1000
				for _, dev := range vm.Config.Hardware.Device {
					if sc, ok := dev.(types.BaseVirtualSCSIController); ok {
						ctrlKey = sc.GetVirtualSCSIController().Key
					}
				}
				unit := int32(i)
				vm.Config.Hardware.Device = append(vm.Config.Hardware.Device, &types.VirtualDisk{
					VirtualDevice: types.VirtualDevice{
						Key:           d.key,
						DeviceInfo:    &types.Description{Label: fmt.Sprintf("Hard disk %d", i+1), Summary: fmt.Sprintf("%d KB", d.capacity/1024)},
						Backing:       backing,
						ControllerKey: ctrlKey,
						UnitNumber:    &unit,
					},
					CapacityInKB:    d.capacity / 1024,
					CapacityInBytes: d.capacity,
					DiskObjectId:    fmt.Sprintf("%s-%d", v.ref.Value, d.key),
				})
				vm.Summary.Config.NumVirtualDisks = int32(len(v.mx))
				if findRef(vm.Datastore, d.ds.ref) == -1 {
					vm.Datastore = append(vm.Datastore, d.ds.ref)
				}
			})
		}
		simulator.Map.WithLock(vm, func() { w.refreshLayout(vm, v) })
		w.vms[v.ref.Value] = v
		w.matrix = append(w.matrix, v)
	}
	return nil
}

// rawLuns lists the RDM raw LUNs in the order matrixLuns made them.
func (w *world) rawLuns() []string {
	var r []string
	for _, l := range w.extraLuns {
		if l.naa != w.ds2.naa {
			r = append(r, l.naa)
		}
	}
	return r
}

// allocated is a file's allocation on its datastore: what a thin disk
// takes, not its apparent size.
func allocated(p string) int64 {
	fi, err := os.Stat(p)
	if err != nil {
		return 0
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok && st.Blocks*512 < fi.Size() {
		return st.Blocks * 512
	}
	return fi.Size()
}

// refreshMatrixLayout is refreshLayout for a matrix VM: every disk's chain,
// files on each datastore, allocation from the files' blocks.  The caller
// holds the VM's lock.
func (w *world) refreshMatrixLayout(vm *simulator.VirtualMachine, v *vmInfo) {
	lx := &types.VirtualMachineFileLayoutEx{Timestamp: time.Now()}
	usage := map[types.ManagedObjectReference]int64{}
	add := func(ds *mxDatastore, dir, f, typ string, size int64) int32 {
		k := int32(len(lx.File))
		lx.File = append(lx.File, types.VirtualMachineFileLayoutExFileInfo{
			Key: k, Name: fmt.Sprintf("[%s] %s/%s", ds.name, v.name, f), Type: typ,
			Size: size, UniqueSize: size, Accessible: types.NewBool(true),
		})
		usage[ds.ref] += size
		return k
	}
	ds1 := &mxDatastore{name: w.dsName, ref: w.dsRef}
	for _, f := range []struct{ name, typ string }{{v.name + ".vmx", "config"}, {v.name + ".nvram", "nvram"}, {"vmware.log", "log"}} {
		add(ds1, v.dir, f.name, f.typ, allocated(filepath.Join(v.dir, f.name)))
	}
	var disks []types.VirtualMachineFileLayoutDiskLayout
	for _, d := range v.mx {
		dl := types.VirtualMachineFileLayoutExDiskLayout{Key: d.key}
		var files []string
		for _, unit := range d.chain {
			var keys []int32
			for _, f := range unit {
				size := allocated(filepath.Join(d.dir, f.name))
				if d.naa != "" && f.typ == "diskExtent" {
					size = 0 // a mapping file takes no space on the datastore
				}
				keys = append(keys, add(d.ds, d.dir, f.name, f.typ, size))
			}
			dl.Chain = append(dl.Chain, types.VirtualMachineFileLayoutExDiskUnit{FileKey: keys})
			files = append(files, fmt.Sprintf("[%s] %s/%s", d.ds.name, v.name, unit[0].name))
		}
		lx.Disk = append(lx.Disk, dl)
		disks = append(disks, types.VirtualMachineFileLayoutDiskLayout{Key: d.key, DiskFile: files})
	}
	vm.LayoutEx = lx
	vm.Layout = &types.VirtualMachineFileLayout{ConfigFile: []string{v.name + ".vmx"}, LogFile: []string{"vmware.log"}, Disk: disks}
	var per []types.VirtualMachineUsageOnDatastore
	var total int64
	refs := make([]types.ManagedObjectReference, 0, len(usage))
	for r := range usage {
		refs = append(refs, r)
	}
	sort.Slice(refs, func(i, j int) bool { return refs[i].Value < refs[j].Value })
	for _, r := range refs {
		per = append(per, types.VirtualMachineUsageOnDatastore{Datastore: r, Committed: usage[r], Unshared: usage[r]})
		total += usage[r]
	}
	vm.Storage = &types.VirtualMachineStorageInfo{PerDatastoreUsage: per, Timestamp: time.Now()}
	vm.Summary.Storage = &types.VirtualMachineStorageSummary{Committed: total, Unshared: total, Timestamp: time.Now()}
}

// matrixFacts are the ready file's MX_* lines: per VM its id, and per disk
// (MX_<VM>_<N>_*, VM upper-cased with '-' as '_') the requested file, the
// top of its chain, the bytes a copy must deliver, sizes and type.
func (w *world) matrixFacts(facts map[string]string) {
	var names []string
	for _, v := range w.matrix {
		k := "MX_" + strings.ToUpper(strings.ReplaceAll(strings.TrimPrefix(v.name, "mx-"), "-", "_"))
		names = append(names, v.name)
		facts[k+"_ID"] = v.ref.Value
		facts[k+"_DISKS"] = fmt.Sprint(len(v.mx))
		for _, d := range v.mx {
			p := fmt.Sprintf("%s_%d_", k, d.index)
			facts[p+"VMDK"] = d.base
			facts[p+"TOP"] = d.vmdk
			facts[p+"KIND"] = d.kind
			facts[p+"BYTES"] = fmt.Sprint(d.capacity)
			facts[p+"SOURCE"] = d.flat
			facts[p+"DS"] = d.ds.name
			var alloc int64
			if d.naa == "" && d.vvolBase == "" {
				alloc = allocated(d.flat)
			}
			facts[p+"ALLOCATED"] = fmt.Sprint(alloc)
			if d.delta != "" {
				facts[p+"DELTA"] = d.delta
			}
			if d.naa != "" {
				facts[p+"NAA"] = d.naa
			}
			if d.vvolBase != "" {
				facts[p+"VVOL_ID"] = d.vvolBase
				facts[p+"VVOL_TOP_ID"] = d.vvolTop
			}
		}
	}
	facts["MX_VMS"] = strings.Join(names, " ")
	facts["MX_DS2_NAME"] = w.ds2.name
	facts["MX_DS2_DIR"] = w.ds2.dir
	facts["MX_DS2_NAA"] = w.ds2.naa
}
