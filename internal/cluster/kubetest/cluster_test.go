package kubetest

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"go.uber.org/goleak"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestAPIAnswers checks the endpoint's answers the clients do not reach on
// their own paths: the API server's statuses for requests it refuses.
func TestAPIAnswers(t *testing.T) {
	type request struct {
		name     string
		client   *http.Client
		method   string
		path     string
		upgrade  string
		wantCode int
		wantMsg  string
	}
	client := func(t *testing.T, cfg *rest.Config) *http.Client {
		t.Helper()
		hc, err := rest.HTTPClientFor(cfg)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(hc.CloseIdleConnections)
		return hc
	}
	for _, mode := range []Mode{ModeWebSocketAndSPDY, ModeWebSocketOnly} {
		kc := New(t, Options{Mode: mode})
		kc.AddPod(RunningPod("payroll", "db-0", nil, "db", "exporter"))
		kc.AddPod(PendingPod("payroll", "pending-0", nil, "app"))
		hc := client(t, kc.RESTConfig())
		bad := kc.RESTConfig()
		bad.BearerToken = "wrong"
		badClient := client(t, bad)
		// Upgrades are HTTP/1.1 requests.
		h1 := kc.RESTConfig()
		h1.NextProtos = []string{"http/1.1"}
		h1Client := client(t, h1)

		exec := "/api/v1/namespaces/payroll/pods/"
		tests := []request{
			{"wrong token", badClient, "GET", "/version", "", 401, "Unauthorized"},
			{"unknown pod", hc, "GET", "/api/v1/namespaces/payroll/pods/nope", "", 404, `pods "nope" not found`},
			{"bad selector", hc, "GET", "/api/v1/namespaces/payroll/pods?labelSelector=a+in+(b", "", 400, "unable to parse requirement"},
			{"exec, no command", h1Client, "POST", exec + "db-0/exec?container=db&stdout=true", "SPDY/3.1", 400, "command: Required value"},
			{"exec, no stream", h1Client, "POST", exec + "db-0/exec?container=db&command=true", "SPDY/3.1", 400, "at least 1 of stdin, stdout, stderr"},
			{"exec, unknown pod", h1Client, "POST", exec + "nope/exec?container=db&command=true&stdout=true", "SPDY/3.1", 404, `pods "nope" not found`},
			{"exec, which container", h1Client, "POST", exec + "db-0/exec?command=true&stdout=true", "SPDY/3.1", 400, "a container name must be specified for pod db-0, choose one of: [db exporter]"},
			{"exec, unknown container", h1Client, "POST", exec + "db-0/exec?container=nope&command=true&stdout=true", "SPDY/3.1", 400, "container nope is not valid for pod db-0"},
			{"exec, no node", h1Client, "POST", exec + "pending-0/exec?container=app&command=true&stdout=true", "SPDY/3.1", 400, "pod pending-0 does not have a host assigned"},
		}
		if mode == ModeWebSocketOnly {
			tests = append(tests, request{"exec, SPDY refused", h1Client, "POST", exec + "db-0/exec?container=db&command=true&stdout=true", "SPDY/3.1", 403, "SPDY upgrades are refused"})
		} else {
			tests = append(tests, request{"exec, no upgrade", hc, "POST", exec + "db-0/exec?container=db&command=true&stdout=true", "", 400, "Upgrade request required"})
		}
		for _, tt := range tests {
			req, err := http.NewRequestWithContext(t.Context(), tt.method, kc.URL()+tt.path, nil)
			if err != nil {
				t.Fatal(err)
			}
			if tt.upgrade != "" {
				req.Header.Set("Connection", "Upgrade")
				req.Header.Set("Upgrade", tt.upgrade)
			}
			resp, err := tt.client.Do(req)
			if err != nil {
				t.Fatalf("%s: %v", tt.name, err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			var st metav1.Status
			if err := json.Unmarshal(body, &st); err != nil || resp.StatusCode != tt.wantCode || int(st.Code) != tt.wantCode || !strings.Contains(st.Message, tt.wantMsg) || st.Kind != "Status" {
				t.Errorf("mode %d, %s: %d %s; want %d and %q", mode, tt.name, resp.StatusCode, body, tt.wantCode, tt.wantMsg)
			}
		}
	}
}
