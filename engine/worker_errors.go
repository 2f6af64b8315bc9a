package engine

import (
	"github.com/hookshot-dev/hookshot/internal/errkind"
)

// kindOf is the kind of err as the engine and its workers decide on it:
// errkind's, with an error of no known kind taken as Unavailable — failing
// a hook or a stage needs a definite answer. (A context.DeadlineExceeded is
// a sub-operation's timeout; callers check their own context first.)
func kindOf(err error) errkind.Kind {
	if k := errkind.Of(err); k != errkind.Unknown {
		return k
	}
	return errkind.Unavailable
}

// permanent marks err as definite: retrying will not change it (a source
// whose content no longer matches the job's checksum).
func permanent(err error) error { return errkind.Mark(err, errkind.Permanent) }
