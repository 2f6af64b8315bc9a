package api

import "net/http"

const (
	get    = http.MethodGet
	post   = http.MethodPost
	put    = http.MethodPut
	del    = http.MethodDelete
	patch  = http.MethodPatch
	acct   = "account"
	public = "public"
	// rfs routes authenticate themselves, answering in RFS's error format.
	rfs = "rfs"
)

// register declares every route. Paths follow Astra's; static apps
// (hookshot/v1/apps), the restore and failover triggers, explain and runs are
// Hookshot's (Astra has no path for them in the execution-hook API).
func (s *Server) register() {
	const a = "/accounts/{account_id}"
	for _, base := range []string{a + "/core/v1/executionHooks", a + "/k8s/v1/apps/{app_id}/executionHooks"} {
		s.handle(base, acct, false, map[string]handlerFunc{get: s.listHooks, post: s.createHook})
		s.handle(base+"/{hook_id}", acct, true, map[string]handlerFunc{get: s.getHook, put: s.updateHook, del: s.deleteHook})
	}
	s.handle(a+"/core/v1/hookSources", acct, false, map[string]handlerFunc{get: s.listSources, post: s.createSource})
	s.handle(a+"/core/v1/hookSources/{source_id}", acct, true, map[string]handlerFunc{get: s.getSource, put: s.updateSource, del: s.deleteSource})
	// Static apps are Hookshot's own resource, on Hookshot's path; Astra's
	// app 1.x path shows every app, read only, in the 1.x shape.
	s.handle(a+"/hookshot/v1/apps", acct, false, map[string]handlerFunc{get: s.listApps, post: s.createApp})
	s.handle(a+"/hookshot/v1/apps/{app_id}", acct, true, map[string]handlerFunc{get: s.getApp, put: s.updateApp, del: s.deleteApp})
	s.handle(a+"/k8s/v1/apps", acct, false, map[string]handlerFunc{get: s.listAppsV1})
	s.handle(a+"/k8s/v1/apps/{app_id}", acct, true, map[string]handlerFunc{get: s.getAppV1})
	s.handle(a+"/k8s/v2/apps", acct, false, map[string]handlerFunc{get: s.listAppsV2, post: s.createAppV2})
	s.handle(a+"/k8s/v2/apps/{app_id}", acct, true, map[string]handlerFunc{get: s.getAppV2, put: s.updateAppV2, del: s.deleteAppV2})
	s.handle(a+"/topology/v1/clusters", acct, false, map[string]handlerFunc{get: s.listClusters})
	s.handle(a+"/topology/v1/clusters/{cluster_id}", acct, true, map[string]handlerFunc{get: s.getCluster})
	s.handle(a+"/topology/v1/clouds", acct, false, map[string]handlerFunc{get: s.listClouds})
	s.handle(a+"/topology/v1/clouds/{cloud_id}", acct, true, map[string]handlerFunc{get: s.getCloud})
	s.handle(a+"/topology/v1/buckets", acct, false, map[string]handlerFunc{get: s.listBuckets})
	s.handle(a+"/k8s/v1/apps/{app_id}/executionHookOverrides", acct, false, map[string]handlerFunc{get: s.listOverrides, post: s.createOverride})
	s.handle(a+"/k8s/v1/apps/{app_id}/executionHookOverrides/{override_id}", acct, true, map[string]handlerFunc{get: s.getOverride, put: s.updateOverride, del: s.deleteOverride})
	s.registerActions(a + "/k8s/v1/apps/{app_id}")
	s.handle(a+"/k8s/v1/apps/{app_id}/explain", acct, true, map[string]handlerFunc{get: s.explainApp})
	s.handle(a+"/hookshot/v1/runs", acct, false, map[string]handlerFunc{get: s.listRuns})
	s.handle(a+"/hookshot/v1/runs/{run_id}", acct, true, map[string]handlerFunc{get: s.getRun})
	s.handle("/v1/private-hooks/{hook_name}/metadata", rfs, true, map[string]handlerFunc{patch: s.rfsHandler(true, s.patchMetadata)})
	s.handle("/v1/private-hooks/{hook_name}", rfs, true, map[string]handlerFunc{get: s.rfsHandler(false, s.getPrivateHook)})
	s.handle("/healthz", public, false, map[string]handlerFunc{get: s.healthz})
	s.handle("/openapi.json", public, false, map[string]handlerFunc{get: s.openapi})
}

func (s *Server) healthz(w http.ResponseWriter, _ *http.Request) *Problem {
	writeJSON(w, http.StatusOK, "", map[string]string{"status": "ok"})
	return nil
}
