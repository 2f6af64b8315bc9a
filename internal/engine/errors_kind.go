package engine

import "github.com/hookshot-dev/hookshot/internal/errkind"

// kindOf is the kind of err as the engine decides on it: Unknown is taken
// as Unavailable — failing a stage needs a definite answer.
func kindOf(err error) errkind.Kind { return errkind.OrUnavailable(err) }

// permanent marks err as definite: retrying will not change it.
func permanent(err error) error { return errkind.Mark(err, errkind.Permanent) }
