// Package api serves Hookshot's management API over HTTP: the NetApp Astra
// Control execution-hook API (executionHooks, hookSources, apps, appSnaps,
// appBackups, with Astra's media types, versions, list queries and problem
// documents) and the RFS private-hook metadata API. Handlers decode, check
// access and translate; the rules live in matcher, executor, internal/store and
// internal/driver.
package api
