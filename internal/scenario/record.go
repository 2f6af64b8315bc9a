package scenario

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/hookshot-dev/hookshot/events"
)

// Kinds of recording entries.
const (
	KindLifecycle = "lifecycle"
	KindExecution = "execution"
	KindStage     = "stage"
)

// Entry is one line of a recording: a message as the stream stored it.
//
//	{"kind":"lifecycle","seq":1,"data":{"specversion":"1.0","id":"lifecycle.step-1.snapshot.pre",…}}
//
// Seq is the message's sequence number in its stream: HOOKSHOT_LIFECYCLE for
// lifecycle events, HOOKSHOT_RESULTS for execution and stage results. Data
// is the CloudEvents envelope, byte for byte.
type Entry struct {
	Kind string          `json:"kind"`
	Seq  uint64          `json:"seq"`
	Data json.RawMessage `json:"data"`
}

// maxEntryBytes bounds one recording line: a message and its wrapping.
const maxEntryBytes = 2*events.MaxMessageBytes + 4096

// record writes the event log of everything the instance ran: every
// lifecycle event, execution result and stage result, read back from the
// streams. Each stream's messages keep their stream order; the two streams
// are merged by the time the server stored each message.
func (in *instance) record(ctx context.Context, w io.Writer) error {
	// Against a running server only the scenario's account: the server's
	// streams hold everyone's messages. In-process, everything is ours.
	acct := "*"
	if in.remote {
		acct = in.account
	}
	lifecycle, err := readSubject(ctx, in.js, events.StreamLifecycle, events.SubjectLifecycle+"."+acct+".>")
	if err != nil {
		return fmt.Errorf("scenario: record: %w", err)
	}
	results, err := readSubject(ctx, in.js, events.StreamResults, events.SubjectResults+".*."+acct+".*")
	if err != nil {
		return fmt.Errorf("scenario: record: %w", err)
	}
	bw := bufio.NewWriter(w)
	write := func(kind string, m storedMsg) error {
		line, err := json.Marshal(Entry{Kind: kind, Seq: m.seq, Data: json.RawMessage(m.data)})
		if err != nil {
			return fmt.Errorf("scenario: record %s %d: %w", m.stream, m.seq, err)
		}
		_, _ = bw.Write(line)
		return bw.WriteByte('\n')
	}
	resultKind := func(m storedMsg) string {
		if strings.HasPrefix(m.subject, events.SubjectStageResults+".") {
			return KindStage
		}
		return KindExecution
	}
	for len(lifecycle) > 0 || len(results) > 0 {
		var err error
		if len(results) == 0 || len(lifecycle) > 0 && !lifecycle[0].time.After(results[0].time) {
			err = write(KindLifecycle, lifecycle[0])
			lifecycle = lifecycle[1:]
		} else {
			err = write(resultKind(results[0]), results[0])
			results = results[1:]
		}
		if err != nil {
			return err
		}
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("scenario: record: %w", err)
	}
	return nil
}

// ReadRecording reads a recording written by Run or Replay (Options.Record).
// Blank lines are skipped; a line that is not an entry of a known kind with
// data is an error wrapping ErrInvalidRecording that names the line.
func ReadRecording(r io.Reader) ([]Entry, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), maxEntryBytes)
	var out []Entry
	for n := 1; sc.Scan(); n++ {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		var e Entry
		dec := json.NewDecoder(bytes.NewReader(line))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&e); err != nil {
			return nil, fmt.Errorf("%w: line %d: %v", ErrInvalidRecording, n, err)
		}
		switch {
		case e.Kind != KindLifecycle && e.Kind != KindExecution && e.Kind != KindStage:
			return nil, fmt.Errorf("%w: line %d: kind %q: must be lifecycle, execution or stage", ErrInvalidRecording, n, e.Kind)
		case len(e.Data) == 0 || string(e.Data) == "null":
			return nil, fmt.Errorf("%w: line %d: no data", ErrInvalidRecording, n)
		}
		out = append(out, e)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidRecording, err)
	}
	return out, nil
}
