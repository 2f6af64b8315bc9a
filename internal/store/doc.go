// Package store keeps Hookshot's resources — hook sources, execution hooks
// and apps — in JetStream KV buckets, one key per resource under
// <account>.<id>. Writes are compare-and-set on the KV revision, so two
// writers never silently overwrite each other; nothing is held only in memory.
package store
