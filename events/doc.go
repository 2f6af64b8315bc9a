// Package events is Hookshot's wire vocabulary: the lifecycle event a backup
// controller publishes, the job a worker pulls, the execution result a worker
// publishes, and the stage result the engine publishes once per stage. It also
// owns the JetStream names (subjects, streams, consumers, KV buckets), their
// idempotent provisioning, and publishing with Nats-Msg-Id de-duplication.
//
// Every message is a CloudEvents 1.0 structured-mode JSON envelope whose
// "data" member carries one of the types below. The package imports no other
// Hookshot package.
package events
