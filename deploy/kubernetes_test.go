package deploy_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/spf13/pflag"
	"go.yaml.in/yaml/v3"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	kjson "k8s.io/apimachinery/pkg/runtime/serializer/json"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/strategicpatch"
	kyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/kubernetes/scheme"

	"github.com/hookshot-dev/hookshot/cmd/hookshot/config"
	"github.com/hookshot-dev/hookshot/internal/cluster"
)

// kubeDir holds the Kubernetes manifests: base/ (what every variant
// shares, no RBAC), cluster-rbac/ (ClusterRoles and ClusterRoleBindings),
// and the variants a user applies, each a kustomization.yaml: kubeDir itself
// (base + cluster-rbac), trial/ (the same with strategic-merge patches) and
// namespaced/ (base + Roles and RoleBindings in named app namespaces).
const (
	kubeDir      = "kubernetes"
	kubeNS       = "hookshot"
	kubeImage    = "hookshot:dev"
	saServer     = "hookshot-server"
	saWorker     = "hookshot-worker"
	kustomizeYML = "kustomization.yaml"
)

// kubeVariant is a directory one can `kubectl apply -k`.
type kubeVariant struct {
	name       string
	dir        string
	trial      bool // embedded NATS
	namespaced bool // RBAC in app namespaces only, nothing cluster-wide
}

var kubeVariants = []kubeVariant{
	{name: "default", dir: kubeDir},
	{name: "trial", dir: filepath.Join(kubeDir, "trial"), trial: true},
	{name: "namespaced", dir: filepath.Join(kubeDir, "namespaced"), namespaced: true},
}

// TestKubernetesManifests decodes every document of every manifest under
// deploy/kubernetes strictly with client-go's scheme (an unknown or
// duplicated field fails), builds each variant the way kustomize would
// (resources, nested kustomizations, and patches merged with the same
// strategic merge patch kubectl uses) and checks each: every file is listed
// in its kustomization.yaml, every kustomization belongs to a variant, every
// container is hardened and probed, its arguments and the ConfigMap's
// hookshot.yaml load with Hookshot's own configuration loader, Services and
// selectors line up, and RBAC gives the workers pods/exec and the server
// only read access to pods, with rules that are exactly the minimal ones:
// cluster-wide in the default and the trial, in the named app namespaces
// only (no ClusterRole, no ClusterRoleBinding) in the namespaced variant.
func TestKubernetesManifests(t *testing.T) {
	t.Parallel()
	kusts := checkKustomizations(t, kubeDir)
	if t.Failed() {
		t.FailNow()
	}
	b := kustomizeBuilder{kusts: kusts, files: map[string][]kubeObject{}, used: map[string]bool{}}
	built := map[string][]kubeObject{}
	for _, v := range kubeVariants {
		built[v.name] = b.build(t, v.dir)
	}
	for dir := range kusts {
		if !b.used[dir] {
			t.Errorf("%s/%s is in no variant this test checks (kubeVariants)", dir, kustomizeYML)
		}
	}
	if t.Failed() {
		t.FailNow()
	}
	for _, v := range kubeVariants {
		t.Run(v.name, func(t *testing.T) { checkVariant(t, built[v.name], v) })
	}

	// kubectl, when installed, renders each variant the way `kubectl apply
	// -k` would: the result must be what this test checked.
	t.Run("kubectl-kustomize", func(t *testing.T) {
		if _, err := exec.LookPath("kubectl"); err != nil {
			t.Skip("kubectl not installed")
		}
		for _, v := range kubeVariants {
			dir, want := v.dir, built[v.name]
			out, err := exec.CommandContext(t.Context(), "kubectl", "kustomize", dir).Output()
			if err != nil {
				var ee *exec.ExitError
				if errors.As(err, &ee) {
					err = fmt.Errorf("%w: %s", err, ee.Stderr)
				}
				t.Fatalf("kubectl kustomize %s: %v", dir, err)
			}
			got := decodeManifests(t, "kubectl kustomize "+dir, out)
			if g, w := objectKeys(got), objectKeys(want); !slices.Equal(g, w) {
				t.Errorf("kubectl kustomize %s renders %v, want %v", dir, g, w)
				continue
			}
			byKey := map[string]kubeObject{}
			for _, o := range want {
				byKey[o.key()] = o
			}
			for _, o := range got {
				if !equalJSON(t, o.json, byKey[o.key()].json) {
					t.Errorf("kubectl kustomize %s: %s differs from the test's merge:\n got %s\nwant %s", dir, o.key(), o.json, byKey[o.key()].json)
				}
			}
		}
	})
}

// kustomizeBuilder renders kustomizations as kustomize does, for the subset
// these manifests use: resources (files and directories with a
// kustomization of their own), then patches.
type kustomizeBuilder struct {
	kusts map[string]kustomization // by directory
	files map[string][]kubeObject  // decoded once per file
	used  map[string]bool          // directories built
}

func (b *kustomizeBuilder) decode(t *testing.T, file string) []kubeObject {
	t.Helper()
	if docs, ok := b.files[file]; ok {
		return docs
	}
	docs := decodeManifestFile(t, file)
	if len(docs) == 0 {
		t.Errorf("%s: no Kubernetes object in it", file)
	}
	b.files[file] = docs
	return docs
}

func (b *kustomizeBuilder) build(t *testing.T, dir string) []kubeObject {
	t.Helper()
	dir = filepath.Clean(dir)
	k, ok := b.kusts[dir]
	if !ok {
		t.Fatalf("%s: no %s", dir, kustomizeYML)
	}
	b.used[dir] = true
	var objs, patches []kubeObject
	for _, r := range k.Resources {
		p := filepath.Clean(filepath.Join(dir, r))
		if _, ok := b.kusts[p]; ok {
			objs = append(objs, b.build(t, p)...)
		} else {
			objs = append(objs, b.decode(t, p)...)
		}
	}
	for _, p := range k.Patches {
		patches = append(patches, b.decode(t, filepath.Join(dir, p.Path))...)
	}
	return applyPatches(t, objs, patches)
}

// kubeObject is one decoded document.
type kubeObject struct {
	where string // file#document
	obj   runtime.Object
	json  []byte
}

func (o kubeObject) key() string {
	m := objMeta(o.obj)
	return o.obj.GetObjectKind().GroupVersionKind().Kind + "/" + m.ns + "/" + m.name
}

type meta struct{ ns, name string }

func objMeta(o runtime.Object) meta {
	type named interface {
		GetNamespace() string
		GetName() string
	}
	n := o.(named)
	return meta{n.GetNamespace(), n.GetName()}
}

func objectKeys(objs []kubeObject) []string {
	var keys []string
	for _, o := range objs {
		keys = append(keys, o.key())
	}
	slices.Sort(keys)
	return keys
}

// strictDecoder is client-go's scheme with unknown and duplicate fields as
// errors.
var strictDecoder = kjson.NewSerializerWithOptions(kjson.DefaultMetaFactory, scheme.Scheme, scheme.Scheme,
	kjson.SerializerOptions{Strict: true})

func decodeManifestFile(t *testing.T, file string) []kubeObject {
	t.Helper()
	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	return decodeManifests(t, file, raw)
}

// decodeManifests decodes every YAML document of raw strictly: duplicate
// keys (YAML), unknown fields (client-go's strict serializer and again
// encoding/json's DisallowUnknownFields on the typed object), and kinds
// client-go does not know all fail.
func decodeManifests(t *testing.T, name string, raw []byte) []kubeObject {
	t.Helper()
	var out []kubeObject
	r := kyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(raw)))
	for n := 0; ; n++ {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		where := fmt.Sprintf("%s#%d", name, n)
		if err != nil {
			t.Errorf("%s: %v", where, err)
			break
		}
		var generic any // yaml.v3 refuses duplicate mapping keys
		if err := yaml.Unmarshal(doc, &generic); err != nil {
			t.Errorf("%s: %v", where, err)
			continue
		}
		js, err := kyaml.ToJSON(doc)
		if err != nil {
			t.Errorf("%s: %v", where, err)
			continue
		}
		if string(js) == "null" { // comments only
			continue
		}
		obj, err := decodeStrict(js)
		if err != nil {
			t.Errorf("%s: %v", where, err)
			continue
		}
		out = append(out, kubeObject{where: where, obj: obj, json: js})
	}
	return out
}

func decodeStrict(js []byte) (runtime.Object, error) {
	obj, gvk, err := strictDecoder.Decode(js, nil, nil)
	if err != nil {
		return nil, err
	}
	typed, err := scheme.Scheme.New(*gvk)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(js))
	dec.DisallowUnknownFields()
	if err := dec.Decode(typed); err != nil {
		return nil, fmt.Errorf("%s: %w", gvk.Kind, err)
	}
	return obj, nil
}

// kustomization is the part of kustomize's file these manifests use;
// anything else is an error, so the test cannot miss a feature it does not
// model (a namePrefix, images, a generator).
type kustomization struct {
	APIVersion string   `json:"apiVersion"`
	Kind       string   `json:"kind"`
	Resources  []string `json:"resources"`
	Patches    []struct {
		Path string `json:"path"`
	} `json:"patches"`
}

// checkKustomizations checks that every directory under root with YAML
// files has a kustomization.yaml listing exactly those files (as resources
// or patches) and that every entry it lists exists. It returns the
// kustomizations by directory.
func checkKustomizations(t *testing.T, root string) map[string]kustomization {
	t.Helper()
	kusts := map[string]kustomization{}
	err := filepath.WalkDir(root, func(dir string, d os.DirEntry, err error) error {
		if err != nil || !d.IsDir() {
			return err
		}
		entries, err := os.ReadDir(dir)
		if err != nil {
			return err
		}
		onDisk := map[string]bool{}
		for _, e := range entries {
			if !e.IsDir() && (strings.HasSuffix(e.Name(), ".yaml") || strings.HasSuffix(e.Name(), ".yml")) && e.Name() != kustomizeYML {
				onDisk[e.Name()] = true
			}
		}
		raw, err := os.ReadFile(filepath.Join(dir, kustomizeYML))
		if errors.Is(err, os.ErrNotExist) {
			if len(onDisk) > 0 {
				t.Errorf("%s: YAML files %v but no %s", dir, slices.Sorted(maps.Keys(onDisk)), kustomizeYML)
			}
			return nil
		}
		if err != nil {
			return err
		}
		var k kustomization
		js, err := kyaml.ToJSON(raw)
		if err == nil {
			dec := json.NewDecoder(bytes.NewReader(js))
			dec.DisallowUnknownFields()
			err = dec.Decode(&k)
		}
		if err != nil {
			t.Errorf("%s/%s: %v", dir, kustomizeYML, err)
			return nil
		}
		if k.APIVersion != "kustomize.config.k8s.io/v1beta1" || k.Kind != "Kustomization" {
			t.Errorf("%s/%s: apiVersion %q kind %q", dir, kustomizeYML, k.APIVersion, k.Kind)
		}
		kusts[filepath.Clean(dir)] = k
		listed := map[string]bool{}
		add := func(entry string, patch bool) {
			p := filepath.Join(dir, entry)
			fi, err := os.Stat(p)
			switch {
			case err != nil:
				t.Errorf("%s/%s lists %s: %v", dir, kustomizeYML, entry, err)
			case fi.IsDir():
				if _, err := os.Stat(filepath.Join(p, kustomizeYML)); err != nil || patch {
					t.Errorf("%s/%s lists directory %s, which is no kustomization", dir, kustomizeYML, entry)
				}
			case filepath.Dir(p) != filepath.Clean(dir):
				t.Errorf("%s/%s lists %s: list a file in its own directory's kustomization", dir, kustomizeYML, entry)
			case listed[fi.Name()]:
				t.Errorf("%s/%s lists %s twice", dir, kustomizeYML, entry)
			default:
				listed[fi.Name()] = true
			}
		}
		for _, r := range k.Resources {
			add(r, false)
		}
		for _, p := range k.Patches {
			add(p.Path, true)
		}
		for name := range onDisk {
			if !listed[name] {
				t.Errorf("%s: %s is not listed in %s", dir, name, kustomizeYML)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return kusts
}

// applyPatches merges each patch into the base object of the same kind,
// namespace and name, as kustomize does.
func applyPatches(t *testing.T, base, patches []kubeObject) []kubeObject {
	t.Helper()
	out := slices.Clone(base)
	for _, p := range patches {
		i := slices.IndexFunc(out, func(o kubeObject) bool { return o.key() == p.key() })
		if i < 0 {
			t.Errorf("%s patches %s, which the base does not have", p.where, p.key())
			continue
		}
		zero, err := scheme.Scheme.New(p.obj.GetObjectKind().GroupVersionKind())
		if err != nil {
			t.Fatal(err)
		}
		merged, err := strategicpatch.StrategicMergePatch(out[i].json, p.json, zero)
		if err != nil {
			t.Errorf("%s: %v", p.where, err)
			continue
		}
		obj, err := decodeStrict(merged)
		if err != nil {
			t.Errorf("%s merged: %v", p.where, err)
			continue
		}
		out[i] = kubeObject{where: out[i].where + "+" + p.where, obj: obj, json: merged}
	}
	if t.Failed() {
		t.FailNow()
	}
	return out
}

func equalJSON(t *testing.T, a, b []byte) bool {
	t.Helper()
	var x, y any
	if err := json.Unmarshal(a, &x); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &y); err != nil {
		t.Fatal(err)
	}
	xs, _ := json.Marshal(x)
	ys, _ := json.Marshal(y)
	return bytes.Equal(xs, ys)
}

// variant is one deployable set of objects, indexed.
type variant struct {
	objs        []kubeObject
	config      []byte // hookshot.yaml of the ConfigMap
	configMap   string
	serviceAccs map[string]bool
	services    []*corev1.Service
	deployments []*appsv1.Deployment
}

func checkVariant(t *testing.T, objs []kubeObject, spec kubeVariant) {
	v := variant{objs: objs, serviceAccs: map[string]bool{}}
	namespaces := map[string]bool{}
	seen := map[string]string{}
	for _, o := range objs {
		if prev, ok := seen[o.key()]; ok {
			t.Errorf("%s: %s is also defined in %s", o.where, o.key(), prev)
		}
		seen[o.key()] = o.where
		m := objMeta(o.obj)
		switch obj := o.obj.(type) {
		case *corev1.Namespace, *rbacv1.ClusterRole, *rbacv1.ClusterRoleBinding:
			if m.ns != "" {
				t.Errorf("%s: cluster-scoped %s has namespace %q", o.where, o.key(), m.ns)
			}
			if ns, ok := obj.(*corev1.Namespace); ok {
				namespaces[ns.Name] = true
			}
			continue
		case *corev1.ConfigMap:
			if y, ok := obj.Data["hookshot.yaml"]; ok {
				v.config, v.configMap = []byte(y), obj.Name
			}
		case *corev1.ServiceAccount:
			v.serviceAccs[obj.Name] = true
		case *corev1.Service:
			v.services = append(v.services, obj)
		case *appsv1.Deployment:
			v.deployments = append(v.deployments, obj)
		case *rbacv1.Role, *rbacv1.RoleBinding:
			// In the namespaces of the apps they grant access to.
			if m.ns == "" {
				t.Errorf("%s: %s has no namespace", o.where, o.key())
			}
			continue
		default:
			t.Errorf("%s: unexpected kind %s; teach this test its invariants", o.where, o.key())
		}
		if m.ns != kubeNS {
			t.Errorf("%s: %s is in namespace %q, want %q", o.where, o.key(), m.ns, kubeNS)
		}
	}
	if !namespaces[kubeNS] {
		t.Errorf("no Namespace %q", kubeNS)
	}
	if v.config == nil {
		t.Fatalf("no ConfigMap with a hookshot.yaml key")
	}
	cfg := loadHookshotConfig(t, "ConfigMap "+v.configMap, v.config, nil, nil)
	if len(cfg.Clusters) == 0 {
		t.Errorf("ConfigMap %s: hookshot.yaml configures no cluster", v.configMap)
	}

	roles := map[string]int{}
	for _, d := range v.deployments {
		role := checkDeployment(t, v, d, spec.trial)
		roles[role]++
	}
	if roles["server"] != 1 || roles["worker"] < 1 {
		t.Errorf("Deployments by command: %v, want one server and at least one worker", roles)
	}
	for _, s := range v.services {
		checkService(t, v, s)
	}
	checkRBAC(t, objs, spec.namespaced)
}

// checkDeployment checks one Deployment and returns its command (server or
// worker).
func checkDeployment(t *testing.T, v variant, d *appsv1.Deployment, trial bool) string {
	t.Helper()
	name := "Deployment " + d.Name
	pod := d.Spec.Template.Spec
	sel, err := metaSelector(d)
	if err != nil {
		t.Errorf("%s: selector: %v", name, err)
	} else if !sel.Matches(labels.Set(d.Spec.Template.Labels)) {
		t.Errorf("%s: selector %s does not match its pod labels %v", name, sel, d.Spec.Template.Labels)
	}
	if pod.ServiceAccountName == "" || !v.serviceAccs[pod.ServiceAccountName] {
		t.Errorf("%s: serviceAccountName %q is none of the ServiceAccounts %v", name, pod.ServiceAccountName, v.serviceAccs)
	}
	if pod.HostNetwork || pod.HostPID || pod.HostIPC {
		t.Errorf("%s: shares a host namespace", name)
	}
	if len(pod.InitContainers) > 0 || len(pod.EphemeralContainers) > 0 {
		t.Errorf("%s: init or ephemeral containers; teach this test about them", name)
	}
	if len(pod.Containers) != 1 {
		t.Fatalf("%s: %d containers, want 1", name, len(pod.Containers))
	}
	c := pod.Containers[0]
	where := name + " container " + c.Name
	checkHardened(t, where, pod.SecurityContext, c)
	if c.Image != kubeImage || c.ImagePullPolicy != corev1.PullIfNotPresent {
		t.Errorf("%s: image %q pull policy %q, want %q IfNotPresent", where, c.Image, c.ImagePullPolicy, kubeImage)
	}
	for _, r := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
		req, lim := c.Resources.Requests[r], c.Resources.Limits[r]
		if req.IsZero() || lim.IsZero() || req.Cmp(lim) > 0 {
			t.Errorf("%s: %s request %s limit %s, want both, request ≤ limit", where, r, req.String(), lim.String())
		}
	}

	if len(c.Command) > 0 || len(c.Args) == 0 {
		t.Fatalf("%s: command %q args %q: want the image's entrypoint and args starting with server or worker", where, c.Command, c.Args)
	}
	role := c.Args[0]
	mounts := mountsOf(t, where, pod, c)
	cfg := loadContainerConfig(t, where, v, c, mounts)

	ports := map[string]int32{}
	for _, p := range c.Ports {
		ports[p.Name] = p.ContainerPort
	}
	var probePort string
	switch role {
	case "server":
		probePort = "api"
		if cfg.Workers.Enabled {
			t.Errorf("%s: the server runs workers; they would need pods/exec: --workers=false", where)
		}
		checkListen(t, where, "api.listen", cfg.API.Listen, ports["api"])
		if cfg.NATS.URL == "" {
			if !trial {
				t.Errorf("%s: embedded NATS in the base; the base uses an external NATS (--nats-url)", where)
			}
			if d.Spec.Replicas == nil || *d.Spec.Replicas != 1 || d.Spec.Strategy.Type != appsv1.RecreateDeploymentStrategyType {
				t.Errorf("%s: an embedded NATS needs replicas 1 and strategy Recreate", where)
			}
			if !writable(mounts, cfg.DataDir) {
				t.Errorf("%s: dataDir %s is not on a writable volume (the root file system is read-only)", where, cfg.DataDir)
			}
			checkListen(t, where, "nats.listen", cfg.NATS.Listen, ports["nats"])
		} else {
			checkNATSURL(t, where, v, cfg.NATS.URL)
		}
	case "worker":
		probePort = "ops"
		checkListen(t, where, "ops.listen", cfg.Ops.Listen, ports["ops"])
		if len(cfg.Workers.Clusters) == 0 {
			t.Errorf("%s: no --clusters: a worker Deployment serves the clusters it is named for", where)
		}
		for _, name := range cfg.Workers.Clusters {
			if !slices.ContainsFunc(cfg.Clusters, func(c cluster.Config) bool { return c.Name == name }) {
				t.Errorf("%s: --clusters %s is not configured in hookshot.yaml", where, name)
			}
		}
		if cfg.NATS.URL == "" {
			t.Errorf("%s: a worker needs --nats-url", where)
		} else {
			checkNATSURL(t, where, v, cfg.NATS.URL)
		}
	default:
		t.Fatalf("%s: args[0] %q, want server or worker", where, role)
	}
	for kind, p := range map[string]*corev1.Probe{"liveness": c.LivenessProbe, "readiness": c.ReadinessProbe} {
		want := map[string]string{"liveness": "/healthz", "readiness": "/readyz"}[kind]
		switch {
		case p == nil || p.HTTPGet == nil:
			t.Errorf("%s: no HTTP %s probe", where, kind)
		case p.HTTPGet.Path != want || p.HTTPGet.Port != intstr.FromString(probePort) || ports[probePort] == 0:
			t.Errorf("%s: %s probe GET %s on port %s, want %s on the declared port %q", where, kind, p.HTTPGet.Path, p.HTTPGet.Port.String(), want, probePort)
		}
	}
	return role
}

func metaSelector(d *appsv1.Deployment) (labels.Selector, error) {
	if d.Spec.Selector == nil || len(d.Spec.Selector.MatchExpressions) > 0 {
		return nil, errors.New("want matchLabels only")
	}
	return labels.SelectorFromSet(d.Spec.Selector.MatchLabels), nil
}

// checkHardened checks the restricted Pod Security Standard and a little
// more: non-root, read-only root file system, no privilege escalation, no
// capabilities, the runtime's seccomp profile.
func checkHardened(t *testing.T, where string, pod *corev1.PodSecurityContext, c corev1.Container) {
	t.Helper()
	sc := c.SecurityContext
	if sc == nil {
		t.Errorf("%s: no securityContext", where)
		return
	}
	nonRoot := sc.RunAsNonRoot
	if nonRoot == nil && pod != nil {
		nonRoot = pod.RunAsNonRoot
	}
	if nonRoot == nil || !*nonRoot {
		t.Errorf("%s: runAsNonRoot is not true", where)
	}
	for _, uid := range []*int64{sc.RunAsUser, podUID(pod)} {
		if uid != nil && *uid == 0 {
			t.Errorf("%s: runAsUser 0", where)
		}
	}
	if sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
		t.Errorf("%s: readOnlyRootFilesystem is not true", where)
	}
	if sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
		t.Errorf("%s: allowPrivilegeEscalation is not false", where)
	}
	if sc.Privileged != nil && *sc.Privileged {
		t.Errorf("%s: privileged", where)
	}
	if sc.Capabilities == nil || !slices.Equal(sc.Capabilities.Drop, []corev1.Capability{"ALL"}) || len(sc.Capabilities.Add) > 0 {
		t.Errorf("%s: capabilities %+v, want drop [ALL] and no add", where, sc.Capabilities)
	}
	seccomp := sc.SeccompProfile
	if seccomp == nil && pod != nil {
		seccomp = pod.SeccompProfile
	}
	if seccomp == nil || seccomp.Type != corev1.SeccompProfileTypeRuntimeDefault {
		t.Errorf("%s: seccompProfile %+v, want RuntimeDefault", where, seccomp)
	}
}

func podUID(pod *corev1.PodSecurityContext) *int64 {
	if pod == nil {
		return nil
	}
	return pod.RunAsUser
}

// mount is a volume mounted in the container.
type mount struct {
	path     string
	readOnly bool
	volume   corev1.Volume
}

func mountsOf(t *testing.T, where string, pod corev1.PodSpec, c corev1.Container) []mount {
	t.Helper()
	var out []mount
	for _, vm := range c.VolumeMounts {
		i := slices.IndexFunc(pod.Volumes, func(v corev1.Volume) bool { return v.Name == vm.Name })
		if i < 0 {
			t.Errorf("%s: volumeMount %s names no volume", where, vm.Name)
			continue
		}
		out = append(out, mount{path: vm.MountPath, readOnly: vm.ReadOnly, volume: pod.Volumes[i]})
	}
	for _, vol := range pod.Volumes {
		if !slices.ContainsFunc(c.VolumeMounts, func(vm corev1.VolumeMount) bool { return vm.Name == vol.Name }) {
			t.Errorf("%s: volume %s is not mounted", where, vol.Name)
		}
	}
	return out
}

// mountAt returns the mount that holds p.
func mountAt(mounts []mount, p string) (mount, bool) {
	best, found := mount{}, false
	for _, m := range mounts {
		if (p == m.path || strings.HasPrefix(p, strings.TrimSuffix(m.path, "/")+"/")) && len(m.path) >= len(best.path) {
			best, found = m, true
		}
	}
	return best, found
}

func writable(mounts []mount, p string) bool {
	m, ok := mountAt(mounts, p)
	return ok && path.IsAbs(p) && !m.readOnly && (m.volume.EmptyDir != nil || m.volume.PersistentVolumeClaim != nil || m.volume.Ephemeral != nil)
}

// loadContainerConfig parses the container's args with the flags `hookshot
// server|worker` registers and loads its configuration the way the daemon
// does, with --config pointing at the ConfigMap's hookshot.yaml (which
// must be what the container mounts there).
func loadContainerConfig(t *testing.T, where string, v variant, c corev1.Container, mounts []mount) config.Config {
	t.Helper()
	fs := pflag.NewFlagSet(c.Args[0], pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	config.Register(fs)
	if err := fs.Parse(c.Args[1:]); err != nil {
		t.Fatalf("%s: args %q: %v", where, c.Args, err)
	}
	if fs.NArg() > 0 {
		t.Errorf("%s: stray arguments %q", where, fs.Args())
	}
	env := map[string]string{}
	for _, e := range c.Env {
		switch {
		case e.ValueFrom != nil:
			if ref := e.ValueFrom.SecretKeyRef; ref == nil || ref.Optional == nil || !*ref.Optional {
				t.Errorf("%s: env %s: only optional Secret references are expected", where, e.Name)
			}
		case strings.HasPrefix(e.Name, "HOOKSHOT_"):
			env[e.Name] = e.Value
		}
	}
	if _, ok := env["HOOKSHOT_CONFIG"]; ok {
		t.Errorf("%s: give the configuration file with --config", where)
	}
	file, _ := fs.GetString("config")
	m, ok := mountAt(mounts, file)
	switch {
	case file == "":
		t.Fatalf("%s: no --config", where)
	case !ok || m.volume.ConfigMap == nil || m.volume.ConfigMap.Name != v.configMap || path.Dir(file) != m.path || path.Base(file) != "hookshot.yaml":
		t.Errorf("%s: --config %s is not hookshot.yaml of the mounted ConfigMap %s", where, file, v.configMap)
	}
	return loadHookshotConfig(t, where, v.config, fs, env)
}

// loadHookshotConfig loads yml with Hookshot's configuration loader: the
// file, then env, then the flags parsed into fs (nil: none); and validates
// each cluster.
func loadHookshotConfig(t *testing.T, where string, yml []byte, fs *pflag.FlagSet, env map[string]string) config.Config {
	t.Helper()
	file := filepath.Join(t.TempDir(), "hookshot.yaml")
	if err := os.WriteFile(file, yml, 0o600); err != nil {
		t.Fatal(err)
	}
	if fs == nil {
		fs = pflag.NewFlagSet("load", pflag.ContinueOnError)
		config.Register(fs)
	}
	if err := fs.Set("config", file); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(fs, func(k string) string { return env[k] })
	if err != nil {
		t.Fatalf("%s: configuration: %v", where, err)
	}
	for _, c := range cfg.Clusters {
		if err := c.Validate(); err != nil {
			t.Errorf("%s: %v", where, err)
		}
	}
	return cfg
}

// checkListen checks that a listen address is on every interface (a pod's
// probes and Service come from outside the container) at the port the
// container declares.
func checkListen(t *testing.T, where, key, addr string, declared int32) {
	t.Helper()
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		t.Errorf("%s: %s %q: %v", where, key, addr, err)
		return
	}
	if host != "0.0.0.0" && host != "" && host != "::" {
		t.Errorf("%s: %s %s listens on %s only; probes and Services could not reach it", where, key, addr, host)
	}
	if p, _ := strconv.Atoi(port); declared == 0 || int32(p) != declared {
		t.Errorf("%s: %s port %s, but the container declares %d", where, key, port, declared)
	}
}

// checkNATSURL checks that a NATS URL in this namespace names a Service
// with that port.
func checkNATSURL(t *testing.T, where string, v variant, raw string) {
	t.Helper()
	for _, s := range strings.Split(raw, ",") {
		u, err := url.Parse(strings.TrimSpace(s))
		if err != nil || u.Scheme != "nats" && u.Scheme != "tls" || u.Port() == "" {
			t.Errorf("%s: NATS URL %q: want nats://host:port", where, s)
			continue
		}
		svc, ok := strings.CutSuffix(strings.TrimSuffix(u.Hostname(), ".cluster.local"), "."+kubeNS+".svc")
		if !ok {
			continue // outside this namespace: the operator's NATS
		}
		port, _ := strconv.Atoi(u.Port())
		i := slices.IndexFunc(v.services, func(s *corev1.Service) bool {
			return s.Name == svc && slices.ContainsFunc(s.Spec.Ports, func(p corev1.ServicePort) bool { return p.Port == int32(port) })
		})
		if i < 0 {
			t.Errorf("%s: NATS URL %s: no Service %s with port %d in namespace %s", where, s, svc, port, kubeNS)
		}
	}
}

// checkService checks that a Service selects the pods of one Deployment
// and targets ports they declare.
func checkService(t *testing.T, v variant, s *corev1.Service) {
	t.Helper()
	where := "Service " + s.Name
	if len(s.Spec.Selector) == 0 {
		t.Errorf("%s: no selector", where)
		return
	}
	sel := labels.SelectorFromSet(s.Spec.Selector)
	var pods []*appsv1.Deployment
	for _, d := range v.deployments {
		if sel.Matches(labels.Set(d.Spec.Template.Labels)) {
			pods = append(pods, d)
		}
	}
	if len(pods) != 1 {
		t.Errorf("%s: selector %s matches the pods of %d Deployments, want 1", where, sel, len(pods))
		return
	}
	c := pods[0].Spec.Template.Spec.Containers[0]
	for _, p := range s.Spec.Ports {
		ok := slices.ContainsFunc(c.Ports, func(cp corev1.ContainerPort) bool {
			return p.TargetPort.Type == intstr.String && cp.Name == p.TargetPort.StrVal
		})
		if !ok {
			t.Errorf("%s: port %s targets %s, which is no named port of %s", where, p.Name, p.TargetPort.String(), pods[0].Name)
		}
	}
}

// minimalRules are the only rules a Role or ClusterRole of Hookshot may
// have, by name: the verbs the code calls. internal/cluster/kube.go lists
// pods (discovery); executor/kube.go gets a pod (to tell a stopped container
// from a failed exec) and creates pods/exec, over WebSocket (an HTTP GET,
// authorized as "get" on pods/exec by API servers before 1.35) falling back
// to SPDY (a POST: "create"). Nothing watches pods. Widening a rule (a verb,
// a resource, a wildcard) fails here: change the code first, then this.
var minimalRules = map[string][]rbacv1.PolicyRule{
	"hookshot-pod-reader": {{APIGroups: []string{""}, Resources: []string{"pods"}, Verbs: []string{"get", "list"}}},
	"hookshot-pod-exec":   {{APIGroups: []string{""}, Resources: []string{"pods/exec"}, Verbs: []string{"create", "get"}}},
}

// checkRBAC checks what each service account may do, and where: the
// workers read pods and exec into them, the server only reads pods, every
// role's rules are exactly minimalRules, and the grants are cluster-wide
// (ClusterRoleBindings) or, when namespaced, only in app namespaces
// (RoleBindings to Roles of the same namespace; no ClusterRole or
// ClusterRoleBinding at all), the same in each.
func checkRBAC(t *testing.T, objs []kubeObject, namespaced bool) {
	t.Helper()
	rules := map[string][]rbacv1.PolicyRule{} // by Kind/name, or Role/namespace/name
	type binding struct {
		where    string
		scope    string // "" cluster-wide, else the RoleBinding's namespace
		ref      rbacv1.RoleRef
		subjects []rbacv1.Subject
	}
	var bindings []binding
	checkRules := func(where, name string, rs []rbacv1.PolicyRule) {
		want, ok := minimalRules[name]
		switch {
		case !ok:
			t.Errorf("%s: role %s is none of %v; teach this test (minimalRules) what it may do", where, name, slices.Sorted(maps.Keys(minimalRules)))
		case !equality.Semantic.DeepEqual(rs, want):
			t.Errorf("%s: role %s has rules %+v, want exactly %+v (the verbs the code calls)", where, name, rs, want)
		}
	}
	for _, o := range objs {
		switch obj := o.obj.(type) {
		case *rbacv1.ClusterRole:
			if namespaced {
				t.Errorf("%s: ClusterRole %s in the namespaced variant; it must grant nothing cluster-wide", o.where, obj.Name)
			}
			checkRules(o.where, obj.Name, obj.Rules)
			rules["ClusterRole/"+obj.Name] = obj.Rules
		case *rbacv1.Role:
			checkRules(o.where, obj.Name, obj.Rules)
			rules["Role/"+obj.Namespace+"/"+obj.Name] = obj.Rules
		case *rbacv1.ClusterRoleBinding:
			if namespaced {
				t.Errorf("%s: ClusterRoleBinding %s in the namespaced variant; it must grant nothing cluster-wide", o.where, obj.Name)
			}
			bindings = append(bindings, binding{o.where, "", obj.RoleRef, obj.Subjects})
		case *rbacv1.RoleBinding:
			if !namespaced {
				t.Errorf("%s: RoleBinding %s/%s in a cluster-wide variant", o.where, obj.Namespace, obj.Name)
			}
			bindings = append(bindings, binding{o.where, obj.Namespace, obj.RoleRef, obj.Subjects})
		}
	}
	// granted: service account → scope → "group/resource:verb".
	granted := map[string]map[string]map[string]bool{}
	for _, b := range bindings {
		key := b.ref.Kind + "/" + b.ref.Name
		if b.ref.Kind == "Role" {
			key = "Role/" + b.scope + "/" + b.ref.Name
		}
		rs, ok := rules[key]
		if !ok || b.ref.APIGroup != rbacv1.GroupName {
			t.Errorf("%s: roleRef %+v is not defined here (a RoleBinding's Role must be in its namespace)", b.where, b.ref)
		}
		if b.scope == kubeNS {
			t.Errorf("%s: grants in Hookshot's own namespace %s; the grants belong in the apps' namespaces", b.where, kubeNS)
		}
		for _, s := range b.subjects {
			if s.Kind != rbacv1.ServiceAccountKind || s.Namespace != kubeNS {
				t.Errorf("%s: subject %+v, want a ServiceAccount of namespace %s", b.where, s, kubeNS)
				continue
			}
			if granted[s.Name] == nil {
				granted[s.Name] = map[string]map[string]bool{}
			}
			if granted[s.Name][b.scope] == nil {
				granted[s.Name][b.scope] = map[string]bool{}
			}
			for _, r := range rs {
				for _, res := range r.Resources {
					for _, verb := range r.Verbs {
						for _, g := range r.APIGroups {
							granted[s.Name][b.scope][g+"/"+res+":"+verb] = true
						}
					}
				}
			}
		}
	}
	read := []string{"/pods:get", "/pods:list"}
	want := map[string][]string{
		saServer: read,
		// get: WebSocket exec on API servers before 1.35 (minimalRules).
		saWorker: append(slices.Clone(read), "/pods/exec:create", "/pods/exec:get"),
	}
	for sa, perms := range want {
		slices.Sort(perms)
		scopes := slices.Sorted(maps.Keys(granted[sa]))
		switch {
		case !namespaced && !slices.Equal(scopes, []string{""}):
			t.Errorf("ServiceAccount %s is granted in %q, want cluster-wide only", sa, scopes)
		case namespaced && (len(scopes) == 0 || slices.Contains(scopes, "")):
			t.Errorf("ServiceAccount %s is granted in %q, want in app namespaces only", sa, scopes)
		}
		for _, scope := range scopes {
			got := slices.Sorted(maps.Keys(granted[sa][scope]))
			if !slices.Equal(got, perms) {
				t.Errorf("ServiceAccount %s may %v in %q, want exactly %v", sa, got, scope, perms)
			}
			if sa == saServer && slices.ContainsFunc(got, func(p string) bool { return strings.Contains(p, "/pods/exec:") }) {
				t.Errorf("ServiceAccount %s may exec in %q: the server must not exec", sa, scope)
			}
		}
	}
	// The server discovers where the workers exec: the same namespaces.
	if s, w := slices.Sorted(maps.Keys(granted[saServer])), slices.Sorted(maps.Keys(granted[saWorker])); !slices.Equal(s, w) {
		t.Errorf("ServiceAccount %s is granted in %q, %s in %q; both belong in the same namespaces", saServer, s, saWorker, w)
	}
	for sa := range granted {
		if _, ok := want[sa]; !ok {
			t.Errorf("ServiceAccount %s is granted %v; only %s and %s are expected", sa, granted[sa], saServer, saWorker)
		}
	}
}
