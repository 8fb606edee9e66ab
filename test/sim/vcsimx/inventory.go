package main

// The world's inventory: hosts with FC and iSCSI adapters and multipath
// paths, one VMFS datastore whose directory lives inside the ESXi-like root,
// and three VMs (plain VMDK, RDM, VVol-style) whose disks are real files.

import (
	"context"
	"crypto/rand"
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"io"
	"io/ioutil"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25"
	"github.com/vmware/govmomi/vim25/types"
)

const (
	fcDevice    = "vmhba2"
	iscsiDevice = "vmhba65"
	fcKey       = "key-vim.host.FibreChannelHba-vmhba2"
	iscsiKey    = "key-vim.host.InternetScsiHba-vmhba65"
	sdcDevice   = "vmhba33"
	sdcKey      = "key-vim.host.BlockHba-vmhba33"
	mib         = int64(1024 * 1024)
)

type host struct {
	index     int
	ref       types.ManagedObjectReference
	name      string
	iqn       string
	nodeWWN   uint64
	portWWN   uint64
	sdcGUID   string // the PowerFlex SDC's IoctlIniGuidStr (scini module option)
	statePath string
	state     *hostState
}

// kmsRef is the host's HostKernelModuleSystem (configManager.kernelModuleSystem).
func (h *host) kmsRef() string { return "kernelModuleSystem-" + h.ref.Value }

func (h *host) fcID() string { return fmt.Sprintf("fc.%016x:%016x", h.nodeWWN, h.portWWN) }

type vmInfo struct {
	ref      types.ManagedObjectReference
	name     string
	kind     string // vmdk, rdm, vvol
	vmdk     string // "[ds] dir/disk.vmdk"
	dir      string // directory on disk
	files    []string
	mx       []*mxDisk // a matrix VM's disks (matrix.go)
	flatPath string
	capacity int64
	diskKey  int32
}

type world struct {
	o           *options
	root        string
	fabric      string
	dcName      string
	clusterName string
	dsName      string
	dsUUID      string
	dsNaa       string
	dsDir       string
	dsRef       types.ManagedObjectReference
	rdmNaa      string
	vvolID      string
	hosts       []*host
	byRef       map[string]*host
	mainVM      *vmInfo
	rdmVM       *vmInfo
	vvolVM      *vmInfo
	vms         map[string]*vmInfo
	staticLuns  map[string]staticLun
	staticSizes map[string]int64 // bytes of a static LUN with a node (matrix raw LUNs)
	extraLuns   []extraLun       // static LUNs beyond the datastore's and the RDM's
	ds2         *mxDatastore     // the matrix's second datastore
	matrix      []*vmInfo

	mu sync.Mutex // device state of every host, fabric reads and writes
}

// extraLun is one more static LUN in every host's SCSI topology, seen
// through the target port of LUN port (0: the datastore's array, 1: the RDM's).
type extraLun struct {
	naa   string
	lunNo int32
	port  int32
}

type staticLun struct {
	naa, vendor, model string
	sizeMiB            int64
}

func (w *world) hostIDs() []string {
	var r []string
	for _, h := range w.hosts {
		r = append(r, h.ref.Value)
	}
	return r
}

func (w *world) hostNames() []string {
	var r []string
	for _, h := range w.hosts {
		r = append(r, h.name)
	}
	return r
}

// stableHex gives a deterministic hex string of n characters for a seed, so a
// world rebuilt on the same arguments keeps its identifiers.
func stableHex(seed string, n int) string {
	s := ""
	for i := 0; len(s) < n; i++ {
		sum := sha1.Sum([]byte(fmt.Sprintf("%s/%d", seed, i)))
		s += hex.EncodeToString(sum[:])
	}
	return s[:n]
}

func stableUUID(seed string) string {
	h := stableHex(seed, 32)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// lunUUID is the vSphere ScsiLun uuid of a NAA device: a 10-digit prefix,
// the NAA id, and the first six bytes of the product id in hex.
func lunUUID(naa, model string) string {
	id := strings.TrimPrefix(strings.TrimPrefix(naa, "naa."), "eui.")
	m := model + "      "
	return "0200000000" + id + hex.EncodeToString([]byte(m[:6]))
}

func buildWorld(model *simulator.Model, o *options) (*world, error) {
	if strings.ContainsAny(o.dsName, "/[]") || o.dsName == "" {
		return nil, fmt.Errorf("-ds-name %q: must be non-empty and hold no '/', '[' or ']'", o.dsName)
	}
	if strings.Contains(o.vmName, "/") || o.vmName == "" {
		return nil, fmt.Errorf("-vm-name %q: must be non-empty and hold no '/'", o.vmName)
	}
	if !strings.HasPrefix(o.dsNaa, "naa.") {
		return nil, fmt.Errorf("-ds-naa %q: must start with naa.", o.dsNaa)
	}
	rdmNaa := "naa.624a9370" + stableHex("rdm-lun", 24)
	if o.rdmNaa != "" {
		if !strings.HasPrefix(o.rdmNaa, "naa.") || len(o.rdmNaa) != 36 {
			return nil, fmt.Errorf("-rdm-naa %q: must be naa. and 32 hex digits", o.rdmNaa)
		}
		rdmNaa = strings.ToLower(o.rdmNaa)
	}
	w := &world{
		o:           o,
		root:        o.root,
		fabric:      o.fabric,
		dsName:      o.dsName,
		dsNaa:       strings.ToLower(o.dsNaa),
		rdmNaa:      rdmNaa,
		vvolID:      "rfc4122." + stableUUID("vvol-disk"),
		byRef:       map[string]*host{},
		vms:         map[string]*vmInfo{},
		staticLuns:  map[string]staticLun{},
		staticSizes: map[string]int64{},
	}
	w.dsUUID = stableHex("ds-uuid", 8) + "-" + stableHex("ds-uuid2", 8) + "-" + stableHex("ds-uuid3", 4) + "-" + stableHex("ds-uuid4", 12)
	w.staticLuns[w.dsNaa] = staticLun{w.dsNaa, "NETAPP", "LUN C-Mode", 1024 * 1024}
	rdmVendor, rdmModel := rdmInquiry(w.rdmNaa)
	w.staticLuns[w.rdmNaa] = staticLun{w.rdmNaa, rdmVendor, rdmModel, 64}
	if o.matrix {
		w.matrixLuns()
	}

	for _, d := range []string{"vmfs/volumes", "vmfs/devices/disks", "opt/redhat", "tmp"} {
		if err := os.MkdirAll(filepath.Join(w.root, d), 0755); err != nil {
			return nil, err
		}
	}
	for _, d := range []string{"luns"} {
		if err := os.MkdirAll(filepath.Join(w.fabric, d), 0755); err != nil {
			return nil, err
		}
	}
	if o.wrapper != "" {
		if err := installWrapper(o.wrapper, filepath.Join(w.root, "opt/redhat/vmkfstools-wrapper")); err != nil {
			return nil, fmt.Errorf("installing the wrapper: %v", err)
		}
	}

	ctx := context.Background()
	c, err := vim25.NewClient(ctx, model.Service)
	if err != nil {
		return nil, err
	}

	dcs := simulator.Map.All("Datacenter")
	clusters := simulator.Map.All("ClusterComputeResource")
	if len(dcs) != 1 || len(clusters) != 1 {
		return nil, fmt.Errorf("expected 1 datacenter and 1 cluster, got %d and %d", len(dcs), len(clusters))
	}
	dcRef := dcs[0].Reference()
	w.dcName = dcs[0].Entity().Name
	clRef := clusters[0].Reference()
	w.clusterName = clusters[0].Entity().Name

	for _, e := range simulator.Map.All("HostSystem") {
		w.hosts = append(w.hosts, &host{ref: e.Reference(), name: e.Entity().Name})
	}
	sort.Slice(w.hosts, func(i, j int) bool { return w.hosts[i].name < w.hosts[j].name })
	for i, h := range w.hosts {
		h.index = i
		h.iqn = fmt.Sprintf("iqn.1998-01.com.vmware:esx-%d-%s", i, stableHex("iqn-"+h.ref.Value, 8))
		if i%2 == 0 {
			// IBM NPIV-style WWNs (c0:50:76:...): above 0x7fff..., so they travel as negative xsd:long.
			h.nodeWWN = 0xc0507612a4b80000 + uint64(i)*0x10
			h.portWWN = h.nodeWWN + 1
		} else {
			h.nodeWWN = 0x20000024ff3ab500 + uint64(i)*0x10
			h.portWWN = 0x21000024ff3ab500 + uint64(i)*0x10
		}
		g := strings.ToUpper(stableHex("sdc-guid-"+h.ref.Value, 32))
		h.sdcGUID = g[0:8] + "-" + g[8:12] + "-" + g[12:16] + "-" + g[16:20] + "-" + g[20:32]
		h.statePath = filepath.Join(w.fabric, "esxi-"+h.ref.Value+".json")
		w.byRef[h.ref.Value] = h
		if err := w.configureHostStorage(h); err != nil {
			return nil, err
		}
		if err := w.loadHostState(h); err != nil {
			return nil, err
		}
	}

	if err := w.createDatastore(ctx, c); err != nil {
		return nil, err
	}

	folders, err := object.NewDatacenter(c, dcRef).Folders(ctx)
	if err != nil {
		return nil, err
	}
	pool, err := object.NewClusterComputeResource(c, clRef).ResourcePool(ctx)
	if err != nil {
		return nil, err
	}
	hostObj := object.NewHostSystem(c, w.hosts[0].ref)

	specs := []struct {
		name, kind string
		target     **vmInfo
	}{
		{o.vmName, "vmdk", &w.mainVM},
		{"rdm-vm-1", "rdm", &w.rdmVM},
		{"vvol-vm-1", "vvol", &w.vvolVM},
	}
	for _, s := range specs {
		vm, err := w.createVM(ctx, folders.VmFolder, pool, hostObj, s.name, s.kind)
		if err != nil {
			return nil, fmt.Errorf("VM %q: %v", s.name, err)
		}
		*s.target = vm
		w.vms[vm.ref.Value] = vm
	}
	if o.matrix {
		if err := w.buildMatrix(ctx, c, folders.VmFolder, pool, hostObj); err != nil {
			return nil, err
		}
	}
	return w, nil
}

func installWrapper(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	tmp := dst + ".tmp"
	out, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0755)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	if err := out.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, dst)
}

type pathSpec struct{ adapter, state string }

func parsePaths(s string) ([]pathSpec, error) {
	var r []pathSpec
	for _, item := range strings.Split(s, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		parts := strings.SplitN(item, ":", 2)
		st := "active"
		if len(parts) == 2 {
			st = parts[1]
		}
		if parts[0] != fcDevice && parts[0] != iscsiDevice {
			return nil, fmt.Errorf("-ds-paths: unknown adapter %q (use %s or %s)", parts[0], fcDevice, iscsiDevice)
		}
		switch st {
		case "active", "standby", "disabled", "dead":
		default:
			return nil, fmt.Errorf("-ds-paths: unknown path state %q", st)
		}
		r = append(r, pathSpec{parts[0], st})
	}
	return r, nil
}

// The array's target port identities as every host sees them: one FC target
// port per SAN LUN and one iSCSI target.  The ready file lists them
// (ARRAY_FC_WWPNS, ARRAY_ISCSI_IQN) so the world can seed the array fakes'
// port listings with the same identities.
const arrayFCPortBase = 0x2001d039ea000000

func arrayFCPort(lunNo int32) uint64 { return arrayFCPortBase + uint64(lunNo) }

func arrayIQN() string {
	return "iqn.1992-08.com.netapp:sn." + stableHex("array-sn", 32) + ":vs.3"
}

// arrayFCPorts lists the FC target ports as 16 hex digits (LUN 0, the
// datastore, and LUN 1, the RDM).
func arrayFCPorts() []string {
	return []string{fmt.Sprintf("%016x", arrayFCPort(0)), fmt.Sprintf("%016x", arrayFCPort(1))}
}

// configureHostStorage adds the FC and iSCSI adapters and the SAN LUNs with
// their topology and multipath paths to the host's config.storageDevice.
func (w *world) configureHostStorage(h *host) error {
	hs := simulator.Map.Get(h.ref).(*simulator.HostSystem)
	paths, err := parsePaths(w.o.dsPaths)
	if err != nil {
		return err
	}
	simulator.Map.WithLock(hs, func() {
		sd := hs.Config.StorageDevice
		if sd == nil {
			sd = &types.HostStorageDeviceInfo{}
			hs.Config.StorageDevice = sd
		}
		fc := &types.HostFibreChannelHba{
			HostHostBusAdapter: types.HostHostBusAdapter{
				Key: fcKey, Device: fcDevice, Bus: 59, Status: "online",
				Model: "ISP2722-based 16/32Gb Fibre Channel to PCIe Adapter", Driver: "qlnativefc", Pci: "0000:3b:00.0",
			},
			PortWorldWideName: int64(h.portWWN),
			NodeWorldWideName: int64(h.nodeWWN),
			PortType:          "fabric",
			Speed:             16,
		}
		is := &types.HostInternetScsiHba{
			HostHostBusAdapter: types.HostHostBusAdapter{
				Key: iscsiKey, Device: iscsiDevice, Bus: 0, Status: "online",
				Model: "iSCSI Software Adapter", Driver: "iscsi_vmk",
			},
			IsSoftwareBased: true,
			CanBeDisabled:   types.NewBool(true),
			IScsiName:       h.iqn,
			IScsiAlias:      h.name,
			IpProperties:    types.HostInternetScsiHbaIPProperties{Address: "127.0.0.1"},
		}
		// The PowerFlex SDC's adapter; the kernel module behind it answers
		// for the host's own HostKernelModuleSystem.
		sdc := &types.HostBlockHba{HostHostBusAdapter: types.HostHostBusAdapter{
			Key: sdcKey, Device: sdcDevice, Status: "online", Model: "PowerFlex SDC", Driver: "scini",
		}}
		sd.HostBusAdapter = append(sd.HostBusAdapter, fc, is, sdc)
		hs.ConfigManager.KernelModuleSystem = &types.ManagedObjectReference{Type: "HostKernelModuleSystem", Value: h.kmsRef()}
		sd.SoftwareInternetScsiEnabled = true
		if sd.ScsiTopology == nil {
			sd.ScsiTopology = &types.HostScsiTopology{}
		}
		if sd.MultipathInfo == nil {
			sd.MultipathInfo = &types.HostMultipathInfo{}
		}

		ifaces := map[string]*types.HostScsiTopologyInterface{
			fcDevice:    {Key: "key-vim.host.ScsiTopology.Interface-" + fcDevice, Adapter: fcKey},
			iscsiDevice: {Key: "key-vim.host.ScsiTopology.Interface-" + iscsiDevice, Adapter: iscsiKey},
		}
		both := []pathSpec{{fcDevice, "active"}, {iscsiDevice, "active"}}
		luns := []struct {
			naa   string
			lunNo int32
			paths []pathSpec
			port  int32
		}{
			{w.dsNaa, 0, paths, 0},
			{w.rdmNaa, 1, both, 1},
		}
		for _, x := range w.extraLuns {
			luns = append(luns, struct {
				naa   string
				lunNo int32
				paths []pathSpec
				port  int32
			}{x.naa, x.lunNo, both, x.port})
		}
		for _, l := range luns {
			sl := w.staticLuns[l.naa]
			uuid := lunUUID(l.naa, sl.model)
			lunKey := "key-vim.host.ScsiDisk-" + uuid
			disk := &types.HostScsiDisk{
				ScsiLun: types.ScsiLun{
					HostDevice:       types.HostDevice{DeviceName: "/vmfs/devices/disks/" + l.naa, DeviceType: "disk"},
					Key:              lunKey,
					Uuid:             uuid,
					CanonicalName:    l.naa,
					DisplayName:      fmt.Sprintf("%s Fibre Channel Disk (%s)", sl.vendor, l.naa),
					LunType:          "disk",
					Vendor:           sl.vendor,
					Model:            sl.model,
					Revision:         "9800",
					ScsiLevel:        6,
					SerialNumber:     stableHex("serial-"+l.naa, 12),
					OperationalState: []string{"ok"},
					Descriptor: []types.ScsiLunDescriptor{
						{Quality: "highQuality", Id: l.naa},
						{Quality: "mediumQuality", Id: "vml." + uuid},
						{Quality: "mediumQuality", Id: uuid},
					},
					VStorageSupport:  "vStorageSupported",
					ProtocolEndpoint: types.NewBool(false),
					Capabilities:     &types.ScsiLunCapabilities{UpdateDisplayNameSupported: true},
				},
				Capacity:   types.HostDiskDimensionsLba{BlockSize: 512, Block: sl.sizeMiB * mib / 512},
				DevicePath: "/vmfs/devices/disks/" + l.naa,
				Ssd:        types.NewBool(true),
				LocalDisk:  types.NewBool(false),
			}
			sd.ScsiLun = append(sd.ScsiLun, disk)

			lu := types.HostMultipathInfoLogicalUnit{
				Key: "key-vim.host.MultipathInfo.LogicalUnit-" + uuid,
				Id:  uuid,
				Lun: lunKey,
				Policy: &types.HostMultipathInfoLogicalUnitPolicy{
					Policy: "VMW_PSP_RR",
				},
				StorageArrayTypePolicy: &types.HostMultipathInfoLogicalUnitStorageArrayTypePolicy{Policy: "VMW_SATP_ALUA"},
			}
			for _, p := range l.paths {
				name := fmt.Sprintf("%s:C0:T0:L%d", p.adapter, l.lunNo)
				adapterKey := fcKey
				var transport types.BaseHostTargetTransport = &types.HostFibreChannelTargetTransport{
					PortWorldWideName: int64(arrayFCPort(l.port)),
					NodeWorldWideName: int64(0x2000d039ea000000),
				}
				if p.adapter == iscsiDevice {
					adapterKey = iscsiKey
					transport = &types.HostInternetScsiTargetTransport{
						IScsiName:  arrayIQN(),
						IScsiAlias: "sim-array",
						Address:    []string{"127.0.0.1:3260"},
					}
				}
				pathState := p.state
				lu.Path = append(lu.Path, types.HostMultipathInfoPath{
					Key:           "key-vim.host.MultipathInfo.Path-" + name,
					Name:          name,
					PathState:     pathState,
					State:         pathState,
					IsWorkingPath: types.NewBool(pathState == "active"),
					Adapter:       adapterKey,
					Lun:           lu.Key,
					Transport:     transport,
				})
				iface := ifaces[p.adapter]
				iface.Target = append(iface.Target, types.HostScsiTopologyTarget{
					Key:    fmt.Sprintf("key-vim.host.ScsiTopology.Target-%s:0:%d", p.adapter, l.lunNo),
					Target: 0,
					Lun: []types.HostScsiTopologyLun{{
						Key:     "key-vim.host.ScsiTopology.Lun-" + uuid,
						Lun:     l.lunNo,
						ScsiLun: lunKey,
					}},
					Transport: transport,
				})
			}
			sd.MultipathInfo.Lun = append(sd.MultipathInfo.Lun, lu)
		}
		sd.ScsiTopology.Adapter = append(sd.ScsiTopology.Adapter, *ifaces[fcDevice], *ifaces[iscsiDevice])
	})
	return nil
}

// createDatastore makes ROOT/vmfs/volumes/<uuid> with the symlink <name> -> <uuid>,
// registers it with vcsim as a local datastore on the first host, mounts it on
// every host and turns it into a VMFS datastore backed by the SAN LUN.
func (w *world) createDatastore(ctx context.Context, c *vim25.Client) error {
	ref, dir, err := w.makeDatastore(ctx, c, w.dsName, w.dsUUID, w.dsNaa)
	if err != nil {
		return err
	}
	w.dsRef, w.dsDir = ref, dir
	return nil
}

// makeDatastore creates one SAN datastore name (directory uuid, LUN naa).
func (w *world) makeDatastore(ctx context.Context, c *vim25.Client, dsName, dsUUID, dsNaa string) (types.ManagedObjectReference, string, error) {
	var none types.ManagedObjectReference
	dsDir := filepath.Join(w.root, "vmfs/volumes", dsUUID)
	if err := os.MkdirAll(dsDir, 0755); err != nil {
		return none, "", err
	}
	link := filepath.Join(w.root, "vmfs/volumes", dsName)
	if t, err := os.Readlink(link); err != nil || t != dsUUID {
		_ = os.Remove(link)
		if err := os.Symlink(dsUUID, link); err != nil {
			return none, "", err
		}
	}

	h0 := w.hosts[0]
	dss, err := object.NewHostSystem(c, h0.ref).ConfigManager().DatastoreSystem(ctx)
	if err != nil {
		return none, "", err
	}
	ds, err := dss.CreateLocalDatastore(ctx, dsName, dsDir)
	if err != nil {
		return none, "", fmt.Errorf("CreateLocalDatastore: %v", err)
	}
	dsRef := ds.Reference()

	sds := simulator.Map.Get(dsRef).(*simulator.Datastore)
	const capacity = int64(1024) * 1024 * mib
	simulator.Map.WithLock(sds, func() {
		free := capacity - 100*1024*mib
		now := time.Now()
		sds.Info = &types.VmfsDatastoreInfo{
			DatastoreInfo: types.DatastoreInfo{
				Name:                   dsName,
				Url:                    dsDir,
				FreeSpace:              free,
				MaxFileSize:            62 * 1024 * 1024 * mib,
				MaxVirtualDiskCapacity: 62 * 1024 * 1024 * mib,
				MaxMemoryFileSize:      62 * 1024 * 1024 * mib,
				Timestamp:              &now,
				ContainerId:            dsUUID,
			},
			MaxPhysicalRDMFileSize: 64 * 1024 * 1024 * mib,
			MaxVirtualRDMFileSize:  62 * 1024 * 1024 * mib,
			Vmfs: &types.HostVmfsVolume{
				HostFileSystemVolume: types.HostFileSystemVolume{Type: "VMFS", Name: dsName, Capacity: capacity},
				BlockSizeMb:          1,
				BlockSize:            1024,
				UnmapGranularity:     1024,
				UnmapPriority:        "low",
				MaxBlocks:            63963136,
				MajorVersion:         6,
				Version:              "6.82",
				Uuid:                 dsUUID,
				Extent:               []types.HostScsiDiskPartition{{DiskName: dsNaa, Partition: 1}},
				Ssd:                  types.NewBool(true),
				Local:                types.NewBool(false),
				ScsiDiskType:         "native512",
			},
		}
		sds.Summary.Type = "VMFS"
		sds.Summary.Capacity = capacity
		sds.Summary.FreeSpace = free
		sds.Summary.MultipleHostAccess = types.NewBool(true)
		for i := range sds.Host {
			sds.Host[i].MountInfo.Path = "/vmfs/volumes/" + dsUUID
		}
	})

	for _, h := range w.hosts[1:] {
		hs := simulator.Map.Get(h.ref).(*simulator.HostSystem)
		hdss := simulator.Map.Get(*hs.ConfigManager.DatastoreSystem).(*simulator.HostDatastoreSystem)
		simulator.Map.WithLock(hs, func() {
			hdss.Datastore = append(hdss.Datastore, dsRef)
			hs.Datastore = append(hs.Datastore, dsRef)
		})
		simulator.Map.WithLock(sds, func() {
			sds.Host = append(sds.Host, types.DatastoreHostMount{
				Key: h.ref,
				MountInfo: types.HostMountInfo{
					Path:       "/vmfs/volumes/" + dsUUID,
					AccessMode: string(types.HostMountModeReadWrite),
					Mounted:    types.NewBool(true),
					Accessible: types.NewBool(true),
				},
			})
		})
	}
	return dsRef, dsDir, nil
}

func writeRandom(p string, size int64) error {
	if fi, err := os.Stat(p); err == nil && fi.Size() == size && fi.Mode().IsRegular() {
		return nil // kept from an earlier run on the same root
	}
	tmp := p + ".tmp"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0644)
	if err != nil {
		return err
	}
	if _, err := io.CopyN(f, rand.Reader, size); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, p)
}

func descriptor(extent string, sectors int64, createType, extentType, cid string) string {
	return fmt.Sprintf(`# Disk DescriptorFile
version=1
encoding="UTF-8"
CID=%s
parentCID=ffffffff
createType="%s"

# Extent description
RW %d %s "%s"

# The Disk Data Base
#DDB

ddb.adapterType = "lsilogic"
ddb.geometry.cylinders = "%d"
ddb.geometry.heads = "255"
ddb.geometry.sectors = "63"
ddb.longContentID = "%s"
ddb.uuid = "60 00 C2 9a %s"
ddb.virtualHWVersion = "19"
`, cid, createType, sectors, extentType, extent, sectors/(255*63), stableHex("cid-"+extent, 32),
		strings.TrimSpace(spaced(stableHex("uuid-"+extent, 24))))
}

func spaced(h string) string {
	var b strings.Builder
	for i := 0; i+2 <= len(h); i += 2 {
		b.WriteString(h[i:i+2] + " ")
	}
	return b.String()
}

func (w *world) createVM(ctx context.Context, folder *object.Folder, pool *object.ResourcePool, hostObj *object.HostSystem, name, kind string) (*vmInfo, error) {
	// A leftover VM directory from an earlier run on the same root: keep the
	// disks (same content), drop what vcsim would refuse to recreate.
	dir := filepath.Join(w.dsDir, name)
	for _, f := range []string{name + ".vmx", name + ".nvram", "vmware.log"} {
		_ = os.Remove(filepath.Join(dir, f))
	}
	if err := os.MkdirAll(dir, 0755); err != nil {
		return nil, err
	}

	var devices object.VirtualDeviceList
	scsi, err := devices.CreateSCSIController("pvscsi")
	if err != nil {
		return nil, err
	}
	devices = append(devices, scsi)
	change, err := devices.ConfigSpec(types.VirtualDeviceConfigSpecOperationAdd)
	if err != nil {
		return nil, err
	}
	spec := types.VirtualMachineConfigSpec{
		Name:         name,
		GuestId:      string(types.VirtualMachineGuestOsIdentifierOtherGuest64),
		NumCPUs:      1,
		MemoryMB:     128,
		Files:        &types.VirtualMachineFileInfo{VmPathName: fmt.Sprintf("[%s] %s/%s.vmx", w.dsName, name, name)},
		DeviceChange: change,
	}
	task, err := folder.CreateVM(ctx, spec, pool, hostObj)
	if err != nil {
		return nil, err
	}
	info, err := task.WaitForResult(ctx, nil)
	if err != nil {
		return nil, err
	}
	ref := info.Result.(types.ManagedObjectReference)
	vm := simulator.Map.Get(ref).(*simulator.VirtualMachine)
	if kind == "matrix" {
		return &vmInfo{ref: ref, name: name, kind: kind, dir: dir}, nil // disks: buildMatrix
	}

	v := &vmInfo{ref: ref, name: name, kind: kind, dir: dir, diskKey: 2000}
	base := name
	v.vmdk = fmt.Sprintf("[%s] %s/%s.vmdk", w.dsName, name, base)
	descPath := filepath.Join(dir, base+".vmdk")

	var backing types.BaseVirtualDeviceBackingInfo
	diskUUID := stableUUID("disk-" + kind)
	switch kind {
	case "vmdk", "vvol":
		size := int64(w.o.diskMiB) * mib
		if kind == "vvol" {
			size = 4 * mib
		}
		v.capacity = size
		flat := base + "-flat.vmdk"
		v.flatPath = filepath.Join(dir, flat)
		if err := writeRandom(v.flatPath, size); err != nil {
			return nil, err
		}
		if err := ioutil.WriteFile(descPath, []byte(descriptor(flat, size/512, "vmfs", "VMFS", "fffffffe")), 0644); err != nil {
			return nil, err
		}
		v.files = []string{base + ".vmdk", flat}
		b := &types.VirtualDiskFlatVer2BackingInfo{
			VirtualDeviceFileBackingInfo: types.VirtualDeviceFileBackingInfo{FileName: v.vmdk, Datastore: &w.dsRef},
			DiskMode:                     string(types.VirtualDiskModePersistent),
			Split:                        types.NewBool(false),
			WriteThrough:                 types.NewBool(false),
			ThinProvisioned:              types.NewBool(false),
			EagerlyScrub:                 types.NewBool(false),
			Uuid:                         strings.ToUpper(strings.ReplaceAll(diskUUID, "-", "")),
			ContentId:                    stableHex("content-"+kind, 32),
			DigestEnabled:                types.NewBool(false),
			Sharing:                      "sharingNone",
		}
		if kind == "vvol" {
			b.BackingObjectId = w.vvolID
		}
		backing = b
	case "rdm":
		sl := w.staticLuns[w.rdmNaa]
		v.capacity = sl.sizeMiB * mib
		mapping := base + "-rdmp.vmdk"
		if err := ioutil.WriteFile(filepath.Join(dir, mapping), nil, 0600); err != nil {
			return nil, err
		}
		if err := ioutil.WriteFile(descPath, []byte(descriptor(mapping, v.capacity/512, "vmfsPassthroughRawDeviceMap", "VMFSRDM", "fffffffe")), 0644); err != nil {
			return nil, err
		}
		v.files = []string{base + ".vmdk", mapping}
		uuid := lunUUID(w.rdmNaa, sl.model)
		backing = &types.VirtualDiskRawDiskMappingVer1BackingInfo{
			VirtualDeviceFileBackingInfo: types.VirtualDeviceFileBackingInfo{FileName: v.vmdk, Datastore: &w.dsRef},
			LunUuid:                      uuid,
			DeviceName:                   "/vmfs/devices/disks/vml." + uuid,
			CompatibilityMode:            "physicalMode",
			DiskMode:                     "independent_persistent",
			Uuid:                         strings.ToUpper(strings.ReplaceAll(diskUUID, "-", "")),
			Sharing:                      "sharingNone",
		}
	}

	simulator.Map.WithLock(vm, func() {
		var ctrlKey int32 = 1000
		for _, d := range vm.Config.Hardware.Device {
			if c, ok := d.(types.BaseVirtualSCSIController); ok {
				ctrlKey = c.GetVirtualSCSIController().Key
			}
		}
		unit := int32(0)
		disk := &types.VirtualDisk{
			VirtualDevice: types.VirtualDevice{
				Key:           v.diskKey,
				DeviceInfo:    &types.Description{Label: "Hard disk 1", Summary: fmt.Sprintf("%d KB", v.capacity/1024)},
				Backing:       backing,
				ControllerKey: ctrlKey,
				UnitNumber:    &unit,
			},
			CapacityInKB:    v.capacity / 1024,
			CapacityInBytes: v.capacity,
			DiskObjectId:    fmt.Sprintf("%s-%d", ref.Value, v.diskKey),
		}
		vm.Config.Hardware.Device = append(vm.Config.Hardware.Device, disk)
		vm.Summary.Config.NumVirtualDisks = 1
		if findRef(vm.Datastore, w.dsRef) == -1 {
			vm.Datastore = append(vm.Datastore, w.dsRef)
		}
		w.refreshLayout(vm, v)
	})
	return v, nil
}

func findRef(refs []types.ManagedObjectReference, r types.ManagedObjectReference) int {
	for i := range refs {
		if refs[i] == r {
			return i
		}
	}
	return -1
}

// refreshLayout rebuilds layoutEx, layout and storage of one of our VMs from
// the real files in its directory. The caller holds the VM's lock.
func (w *world) refreshLayout(vm *simulator.VirtualMachine, v *vmInfo) {
	if v.kind == "matrix" {
		w.refreshMatrixLayout(vm, v)
		return
	}
	type file struct {
		name, typ string
		size      int64
	}
	dsPath := func(f string) string { return fmt.Sprintf("[%s] %s/%s", w.dsName, v.name, f) }
	var files []file
	add := func(f, typ string) {
		var size int64
		if fi, err := os.Stat(filepath.Join(v.dir, f)); err == nil {
			size = fi.Size()
		}
		files = append(files, file{dsPath(f), typ, size})
	}
	add(v.name+".vmx", "config")
	add(v.name+".nvram", "nvram")
	add("vmware.log", "log")
	add(v.files[0], "diskDescriptor")
	add(v.files[1], "diskExtent")

	lx := &types.VirtualMachineFileLayoutEx{Timestamp: time.Now()}
	var committed int64
	for i, f := range files {
		size := f.size
		if v.kind == "rdm" && f.typ == "diskExtent" {
			size = 0 // a mapping file takes no space on the datastore
		}
		lx.File = append(lx.File, types.VirtualMachineFileLayoutExFileInfo{
			Key: int32(i), Name: f.name, Type: f.typ, Size: size, UniqueSize: size, Accessible: types.NewBool(true),
		})
		committed += size
	}
	n := len(files)
	lx.Disk = []types.VirtualMachineFileLayoutExDiskLayout{{
		Key:   v.diskKey,
		Chain: []types.VirtualMachineFileLayoutExDiskUnit{{FileKey: []int32{int32(n - 2), int32(n - 1)}}},
	}}
	vm.LayoutEx = lx
	vm.Layout = &types.VirtualMachineFileLayout{
		ConfigFile: []string{path.Base(files[1].name)},
		LogFile:    []string{"vmware.log"},
		Disk:       []types.VirtualMachineFileLayoutDiskLayout{{Key: v.diskKey, DiskFile: []string{v.vmdk}}},
	}
	vm.Storage = &types.VirtualMachineStorageInfo{
		PerDatastoreUsage: []types.VirtualMachineUsageOnDatastore{{
			Datastore: w.dsRef, Committed: committed, Uncommitted: 0, Unshared: committed,
		}},
		Timestamp: time.Now(),
	}
	vm.Summary.Storage = &types.VirtualMachineStorageSummary{Committed: committed, Unshared: committed, Timestamp: time.Now()}
}

// refreshStorage answers RefreshStorageInfo for our VMs (vcsim 0.24 would
// drop every file of them and cannot handle RDM backings).
func (w *world) refreshStorage(ref string) bool {
	v, ok := w.vms[ref]
	if !ok {
		return false
	}
	obj := simulator.Map.Get(v.ref)
	vm, ok := obj.(*simulator.VirtualMachine)
	if !ok {
		return false
	}
	simulator.Map.WithLock(vm, func() { w.refreshLayout(vm, v) })
	return true
}

// rdmInquiry gives the SCSI vendor and model of the RDM LUN from its NAA
// prefix, so an RDM on any simulated array looks like that array's LUN.
func rdmInquiry(naa string) (string, string) {
	for _, v := range []struct{ prefix, vendor, model string }{
		{"naa.60060e80", "HITACHI", "OPEN-V"},
		{"naa.60002ac", "3PARdata", "VV"},
		{"naa.6005076", "IBM", "2145"},
		{"naa.600a0980", "NETAPP", "LUN C-Mode"},
	} {
		if strings.HasPrefix(naa, v.prefix) {
			return v.vendor, v.model
		}
	}
	return "PURE", "FlashArray"
}
