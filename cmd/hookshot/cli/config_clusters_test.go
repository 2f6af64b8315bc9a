package cli_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// fakeKubeconfigSecrets are credentials a kubeconfig holds: a bearer token,
// a client key and certificate, a basic-auth password, an exec plugin's
// environment. None is real; each is distinctive enough that finding it in
// output means it leaked.
var fakeKubeconfigSecrets = []string{
	"fake-bearer-token-5f1c0a7e9b2d4c6e",
	"RkFLRS1DTElFTlQtS0VZLWRhdGEtN2E5YzNlMWI=",
	"RkFLRS1DTElFTlQtQ0VSVC1kYXRhLTJiNGQ2ZjhhMA==",
	"fake-basic-password-8d3e1f",
	"fake-exec-env-secret-4a6b8c",
}

const fakeKubeconfig = `apiVersion: v1
kind: Config
clusters:
  - name: prod
    cluster:
      server: https://127.0.0.1:1
contexts:
  - name: prod
    context: {cluster: prod, user: hookshot}
  - name: staging
    context: {cluster: prod, user: basic}
users:
  - name: hookshot
    user:
      token: fake-bearer-token-5f1c0a7e9b2d4c6e
      client-key-data: RkFLRS1DTElFTlQtS0VZLWRhdGEtN2E5YzNlMWI=
      client-certificate-data: RkFLRS1DTElFTlQtQ0VSVC1kYXRhLTJiNGQ2ZjhhMA==
  - name: basic
    user:
      username: admin
      password: fake-basic-password-8d3e1f
      exec:
        apiVersion: client.authentication.k8s.io/v1
        command: get-token
        env:
          - name: TOKEN
            value: fake-exec-env-secret-4a6b8c
        interactiveMode: Never
current-context: prod
`

// `hookshot config print` shows the clusters of hookshot.yaml as they are
// configured, where the credentials are (a kubeconfig path, a context, a
// Docker host), never the credentials: the kubeconfig it names, and the one
// $KUBECONFIG names for a cluster that gives none, are not read into the
// output (issue 9: "credentials never appear in the API, logs or config
// print").
func TestConfigPrintClustersShowsNoCredentials(t *testing.T) {
	dir := t.TempDir()
	kubeconfig := filepath.Join(dir, "prod.kubeconfig")
	envKubeconfig := filepath.Join(dir, "env.kubeconfig")
	for _, f := range []string{kubeconfig, envKubeconfig} {
		if err := os.WriteFile(f, []byte(fakeKubeconfig), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	t.Setenv("KUBECONFIG", envKubeconfig)
	file := filepath.Join(dir, "hookshot.yaml")
	cfg := `clusters:
  - name: prod-eu
    type: kubernetes
    kubeconfig: ` + kubeconfig + `
    context: staging
  - name: default-kubeconfig
    type: kubernetes
  - name: this-cluster
    type: kubernetes
    inCluster: true
  - name: compose
    type: docker
    host: unix:///var/run/docker.sock
`
	if err := os.WriteFile(file, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}

	code, out, errOut := run(t, context.Background(), "config", "print", "--config", file)
	if code != 0 {
		t.Fatalf("config print: exit %d\n%s\n%s", code, out, errOut)
	}
	for _, secret := range fakeKubeconfigSecrets {
		if strings.Contains(out, secret) || strings.Contains(errOut, secret) {
			t.Errorf("config print shows the kubeconfig's credential %q:\n%s\n%s", secret, out, errOut)
		}
	}
	// Nothing of the kubeconfig, not even its non-secret lines (a sign it
	// was inlined), is in the output.
	for _, line := range []string{"server: https://127.0.0.1:1", "current-context", "client.authentication.k8s.io", "username: admin"} {
		if strings.Contains(out, line) {
			t.Errorf("config print shows the kubeconfig's %q:\n%s", line, out)
		}
	}

	// What it does show is the clusters as configured: paths, context,
	// host, and no other key.
	var printed struct {
		Clusters []map[string]any `yaml:"clusters"`
	}
	if err := yaml.Unmarshal([]byte(out), &printed); err != nil {
		t.Fatalf("config print is not YAML: %v\n%s", err, out)
	}
	want := []map[string]any{
		{"name": "prod-eu", "type": "kubernetes", "kubeconfig": kubeconfig, "context": "staging"},
		{"name": "default-kubeconfig", "type": "kubernetes"},
		{"name": "this-cluster", "type": "kubernetes", "inCluster": true},
		{"name": "compose", "type": "docker", "host": "unix:///var/run/docker.sock"},
	}
	if len(printed.Clusters) != len(want) {
		t.Fatalf("config print shows %d clusters, want %d:\n%s", len(printed.Clusters), len(want), out)
	}
	for i, w := range want {
		got := printed.Clusters[i]
		if len(got) != len(w) {
			t.Errorf("cluster %d: printed %v, want exactly %v", i, got, w)
			continue
		}
		for k, v := range w {
			if got[k] != v {
				t.Errorf("cluster %d: %s is %v, want %v (printed %v)", i, k, got[k], v, got)
			}
		}
	}
}
