// Package deploy holds Hookshot's container packaging (Dockerfile) and the
// container smoke tests that exercise it. The reusable Docker test helpers live
// in the dockertest subpackage.
package deploy
