package executor

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// scriptCache keeps the script files of a LocalRunner, one per script
// content, so that running the same script again writes no file (issue 11:
// a directory and a file created and removed per run cost more CPU than
// the rest of the worker's work).
//
// Files are content-addressed: an entry's key is the SHA-256 of the script
// bytes the run was given, so a changed script (a source's new content) is
// a different entry and is never served from an old one. Each entry is a
// directory <sha256>-<seq> holding the file "hook" (the script's $0, as
// before), both read-only (0500); an entry is written under a temporary
// name and renamed into place, so no run sees a partial file. Before each
// use the file's inode, change time, size and mode are compared with what
// was written: a file changed since (by a hook of the same user) is
// dropped and written again.
//
// The cache holds at most maxFiles entries and maxBytes bytes of scripts;
// past either, the least recently used entries are dropped. An entry in use
// by a run is dropped from the cache at once but its files are removed when
// the last run using it ends, so eviction never pulls a script from under a
// hook about to start.
//
// The cache's directory (TempDir/hookshot-scripts-*) is made on the first
// run and removed by close; a process that dies without closing leaves it,
// and the next cache made in the same TempDir removes it: each cache holds
// an flock on its .lock file while it lives, so one whose lock can be taken
// belongs to no living process.
type scriptCache struct {
	parent   string
	maxFiles int
	maxBytes int64

	mu      sync.Mutex
	dir     string   // "" until the first run, and again after close
	lock    *os.File // holds the flock of dir
	entries map[string]*cachedScript
	bytes   int64  // sum of the sizes of entries
	clock   uint64 // ticks once per use, for least recently used
	seq     uint64 // names entries' directories
}

// cachedScript is one script file.
type cachedScript struct {
	key   string
	dir   string // the entry's own directory
	size  int64
	used  uint64
	refs  int  // runs holding it
	gone  bool // dropped from the cache: remove its files at the last release
	ready chan struct{}
	err   error // set before ready is closed
	stat  fileID
}

// fileID is what tells the file written from a file changed since.
type fileID struct {
	ino, size int64
	mode      uint32
	ctime     syscall.Timespec
}

const (
	cacheDirPrefix = "hookshot-scripts-"
	cacheLockName  = ".lock"
	cachedFileMode = 0o500
	// staleUnlocked is how old a cache directory without a lock file must
	// be before another cache removes it (it may be being created).
	staleUnlocked = time.Minute
)

func newScriptCache(parent string, maxFiles int, maxBytes int64) *scriptCache {
	return &scriptCache{parent: parent, maxFiles: maxFiles, maxBytes: maxBytes, entries: map[string]*cachedScript{}}
}

// acquire returns the path of a file holding script, and a release to call
// once the run that executes it is over.
func (c *scriptCache) acquire(script []byte) (path string, release func(), err error) {
	sum := sha256.Sum256(script)
	key := hex.EncodeToString(sum[:])
	for try := 0; ; try++ {
		e, fresh, err := c.get(key, int64(len(script)))
		if err != nil {
			return "", nil, err
		}
		release = sync.OnceFunc(func() { c.release(e) })
		if fresh {
			err := writeCachedScript(e, script)
			c.mu.Lock()
			e.err = err
			if err != nil {
				c.drop(e)
			}
			close(e.ready)
			c.mu.Unlock()
		} else {
			<-e.ready
		}
		if e.err != nil {
			release()
			return "", nil, e.err
		}
		path = filepath.Join(e.dir, scriptName)
		if fresh || try > 0 || statID(path) == e.stat {
			return path, release, nil
		}
		// Changed since it was written: drop it and write it again.
		c.mu.Lock()
		c.drop(e)
		c.mu.Unlock()
		release()
	}
}

// get returns the entry of key, holding a reference, and whether the caller
// must write it (fresh).
func (c *scriptCache) get(key string, size int64) (e *cachedScript, fresh bool, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.dir == "" {
		if err := c.open(); err != nil {
			return nil, false, err
		}
	}
	c.clock++
	if e = c.entries[key]; e != nil {
		e.refs++
		e.used = c.clock
		return e, false, nil
	}
	c.seq++
	e = &cachedScript{key: key, dir: filepath.Join(c.dir, key+"-"+strconv.FormatUint(c.seq, 10)),
		size: size, used: c.clock, refs: 1, ready: make(chan struct{})}
	c.entries[key] = e
	c.bytes += size
	c.evict(e)
	return e, true, nil
}

// evict drops least recently used entries, never keep, until the cache is
// within its bounds (or holds only keep). Called with mu held.
func (c *scriptCache) evict(keep *cachedScript) {
	for len(c.entries) > c.maxFiles || c.bytes > c.maxBytes {
		var lru *cachedScript
		for _, e := range c.entries {
			if e != keep && (lru == nil || e.used < lru.used) {
				lru = e
			}
		}
		if lru == nil {
			return
		}
		c.drop(lru)
	}
}

// drop takes e out of the cache; its files go now, or at its last release.
// Called with mu held.
func (c *scriptCache) drop(e *cachedScript) {
	if c.entries[e.key] == e {
		delete(c.entries, e.key)
		c.bytes -= e.size
	}
	if e.gone {
		return
	}
	e.gone = true
	if e.refs == 0 {
		removeEntry(e.dir)
	}
}

func (c *scriptCache) release(e *cachedScript) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e.refs--
	if e.refs == 0 && e.gone {
		removeEntry(e.dir)
	}
}

// open makes the cache's directory, taking its lock, and removes the
// directories of caches whose process is gone. Called with mu held.
func (c *scriptCache) open() error {
	sweepStaleCaches(c.parent)
	dir, err := os.MkdirTemp(c.parent, cacheDirPrefix)
	if err != nil {
		return fmt.Errorf("executor: create script cache: %w", err)
	}
	// The lock file appears under its name already locked (made and
	// locked under another name, then renamed): a sweep by another cache
	// that opened it between its creation and its flock would find it free
	// and remove this live cache. Until the rename the directory has no
	// lock file, which a sweep leaves alone for staleUnlocked.
	staging := filepath.Join(dir, cacheLockName+".new")
	lock, err := os.OpenFile(staging, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err == nil {
		if err = unix.Flock(int(lock.Fd()), unix.LOCK_EX|unix.LOCK_NB); err == nil {
			err = os.Rename(staging, filepath.Join(dir, cacheLockName))
		}
		if err != nil {
			lock.Close()
		}
	}
	if err != nil {
		os.RemoveAll(dir)
		return fmt.Errorf("executor: lock script cache: %w", err)
	}
	c.dir, c.lock = dir, lock
	return nil
}

// close drops every entry and removes the cache's directory; files of
// entries in use go at their last release, and the directory with the
// last of them. A later acquire makes a new directory.
func (c *scriptCache) close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.dir == "" {
		return nil
	}
	for _, e := range c.entries {
		c.drop(e)
	}
	dir := c.dir
	err := os.Remove(filepath.Join(dir, cacheLockName))
	c.lock.Close() // releases the flock
	c.dir, c.lock = "", nil
	// Empty unless a run still holds an entry; then the directory stays
	// until the next cache in this TempDir sweeps it (its lock is free).
	if rerr := os.Remove(dir); rerr != nil && !errors.Is(rerr, syscall.ENOTEMPTY) && !errors.Is(rerr, syscall.EEXIST) {
		err = errors.Join(err, rerr)
	}
	if err != nil {
		return fmt.Errorf("executor: remove script cache: %w", err)
	}
	return nil
}

// writeCachedScript writes e's directory: a temporary one, renamed into
// place once the file is complete and both are read-only.
func writeCachedScript(e *cachedScript, script []byte) error {
	tmp, err := os.MkdirTemp(filepath.Dir(e.dir), ".new-")
	if err != nil {
		return fmt.Errorf("executor: write script: %w", err)
	}
	path := filepath.Join(tmp, scriptName)
	err = writeScript(path, script, cachedFileMode)
	if err == nil {
		e.stat = statID(path)
		err = os.Chmod(tmp, cachedFileMode)
	}
	if err == nil {
		err = os.Rename(tmp, e.dir)
	}
	if err != nil {
		removeEntry(tmp)
		return fmt.Errorf("executor: write script: %w", err)
	}
	return nil
}

// statID identifies the file at path; the zero fileID if it cannot be
// read (which no written file matches).
func statID(path string) fileID {
	var st syscall.Stat_t
	if syscall.Lstat(path, &st) != nil {
		return fileID{}
	}
	return fileID{ino: int64(st.Ino), size: st.Size, mode: st.Mode, ctime: st.Ctim}
}

// removeEntry removes a read-only entry directory.
func removeEntry(dir string) {
	_ = os.Chmod(dir, 0o700)
	_ = os.RemoveAll(dir)
}

// sweepStaleCaches removes the cache directories under parent whose lock
// no living cache holds.
func sweepStaleCaches(parent string) {
	dirs, _ := filepath.Glob(filepath.Join(parent, cacheDirPrefix+"*"))
	for _, dir := range dirs {
		lock, err := os.OpenFile(filepath.Join(dir, cacheLockName), os.O_RDWR, 0)
		if err != nil {
			if fi, serr := os.Lstat(dir); errors.Is(err, os.ErrNotExist) && serr == nil && fi.IsDir() && time.Since(fi.ModTime()) > staleUnlocked {
				removeCacheDir(dir)
			}
			continue
		}
		if unix.Flock(int(lock.Fd()), unix.LOCK_EX|unix.LOCK_NB) == nil {
			removeCacheDir(dir)
		}
		lock.Close()
	}
}

// removeCacheDir removes a cache directory with its read-only entries.
func removeCacheDir(dir string) {
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if e.IsDir() {
			_ = os.Chmod(filepath.Join(dir, e.Name()), 0o700)
		}
	}
	_ = os.RemoveAll(dir)
}
