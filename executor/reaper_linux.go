package executor

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// The reaper is the one helper process a LocalRunner's process keeps (see
// reaperClient). It is this same executable, re-executed through
// /proc/self/exe with reaperEnv in its environment: the init below makes it
// the reaper before main (or a test's TestMain) runs, whatever the binary is
// called, as long as it imports this package.
//
// It is a child subreaper (PR_SET_CHILD_SUBREAPER): every process a hook
// starts stays in its subtree, even one that called setsid or
// double-forked, because an orphan is re-parented to the reaper rather than
// to init. Each hook it starts carries tagEnv=<run tag> in its environment,
// which its descendants inherit. When a hook's main process exits, the
// reaper kills, with SIGKILL, every process of its subtree that belongs to
// that run — by tag, or, for a process that dropped its environment, by its
// nearest tagged ancestor — and every process it cannot attribute to a run
// that is still going. When the worker's end of the control socket closes
// (the worker exited or was SIGKILLed), it kills its whole subtree and exits.
const (
	reaperEnv      = "HOOKSHOT_EXECUTOR_REAPER"
	reaperEnvValue = "v1"
	// reaperCtlFD is the control socket's descriptor in the reaper.
	reaperCtlFD = 3
	// tagEnv is the variable that marks every process of one hook run.
	tagEnv = "HOOKSHOT_HOOK_RUN_TAG"
	// cleanupLimit bounds how long the reaper keeps killing what a run left
	// (a process in uninterruptible sleep may take long to die).
	cleanupLimit = 10 * time.Second
)

func init() {
	if os.Getenv(reaperEnv) != reaperEnvValue {
		return
	}
	os.Exit(runReaper())
}

// startRequest is the first message on a run's socket, worker to reaper.
type startRequest struct {
	Argv []string `json:"argv"`
	Env  []string `json:"env"`
	Dir  string   `json:"dir"`
}

// signalRequest asks the reaper to signal a running hook's process group.
type signalRequest struct {
	Signal int `json:"signal"`
}

// runReply is the reaper's answer on a run's socket: first Pid (or Errno or
// Err: the hook did not start), then, once the hook has exited and what it
// left is gone, Exited with its wait status.
type runReply struct {
	Pid    int           `json:"pid,omitempty"`
	Errno  int           `json:"errno,omitempty"`
	Err    string        `json:"err,omitempty"`
	Exited bool          `json:"exited,omitempty"`
	Status int           `json:"status,omitempty"` // syscall.WaitStatus
	Ran    time.Duration `json:"ran,omitempty"`    // from start to exit
	Killed int           `json:"killed,omitempty"` // processes it left, killed
}

// reaper is the state of the reaper process.
type reaper struct {
	self    int
	devnull *os.File

	// scanMu serialises scans of /proc; outside is what they found
	// outside the reaper's subtree (see scan).
	scanMu  sync.Mutex
	outside map[int]uint64

	mu     sync.Mutex
	seq    int
	active map[string]*reapedRun // by tag, from start until cleaned up
	mains  map[int]*reapedRun    // by main pid, until reaped
}

type reapedRun struct {
	tag     string
	pid     int
	started time.Time
	// set by the reap loop, under reaper.mu
	exited bool
	status syscall.WaitStatus
	ran    time.Duration
	killed int
	ended  chan struct{} // closed when exited and cleaned up
}

func runReaper() int {
	fail := func(format string, args ...any) int {
		fmt.Fprintf(os.Stderr, "hookshot hook reaper: "+format+"\n", args...)
		return 1
	}
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		return fail("become a subreaper: %v", err)
	}
	unix.CloseOnExec(reaperCtlFD)
	f := os.NewFile(reaperCtlFD, "reaper-control")
	c, err := net.FileConn(f)
	f.Close()
	if err != nil {
		return fail("control socket: %v", err)
	}
	ctl, ok := c.(*net.UnixConn)
	if !ok {
		return fail("control socket is a %T", c)
	}
	devnull, err := os.Open(os.DevNull)
	if err != nil {
		return fail("%v", err)
	}
	r := &reaper{self: os.Getpid(), devnull: devnull, active: map[string]*reapedRun{}, mains: map[int]*reapedRun{}}

	// Terminal signals go to the worker's process group, not to ours; a
	// signal sent to the reaper itself ends it, but not before its subtree.
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP)
	sigchld := make(chan os.Signal, 1)
	signal.Notify(sigchld, syscall.SIGCHLD)
	go r.reapLoop(sigchld)
	go func() {
		<-stop
		r.killAll()
		os.Exit(1)
	}()

	buf, oob := make([]byte, 16), make([]byte, unix.CmsgSpace(3*4))
	for {
		n, oobn, _, _, err := ctl.ReadMsgUnix(buf, oob)
		if err != nil || n == 0 {
			break // the worker is gone
		}
		files := receivedFiles(oob[:oobn])
		if len(files) != 3 {
			for _, f := range files {
				f.Close()
			}
			continue
		}
		go r.serve(files[0], files[1], files[2])
	}
	r.killAll()
	return 0
}

// receivedFiles returns the descriptors passed in a control message. They
// are close-on-exec (the net package reads with MSG_CMSG_CLOEXEC).
func receivedFiles(oob []byte) []*os.File {
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return nil
	}
	var files []*os.File
	for _, m := range msgs {
		fds, err := unix.ParseUnixRights(&m)
		if err != nil {
			continue
		}
		for _, fd := range fds {
			files = append(files, os.NewFile(uintptr(fd), "received"))
		}
	}
	return files
}

// serve sees one run through: read its request, start it, pass on signals,
// report its end.
func (r *reaper) serve(connFile, stdout, stderr *os.File) {
	c, err := net.FileConn(connFile)
	connFile.Close()
	if err != nil {
		stdout.Close()
		stderr.Close()
		return
	}
	defer c.Close()
	dec, enc := json.NewDecoder(c), json.NewEncoder(c)
	var req startRequest
	if err := dec.Decode(&req); err != nil || len(req.Argv) == 0 {
		stdout.Close()
		stderr.Close()
		return
	}
	run, err := r.start(req, stdout, stderr)
	stdout.Close()
	stderr.Close()
	if err != nil {
		reply := runReply{Err: err.Error()}
		if errno, ok := err.(syscall.Errno); ok {
			reply = runReply{Errno: int(errno)}
		}
		_ = enc.Encode(reply)
		return
	}
	if enc.Encode(runReply{Pid: run.pid}) != nil {
		// The worker gave up on the run: end it now.
		r.signal(run, syscall.SIGKILL)
	}
	go func() {
		for {
			var sr signalRequest
			if dec.Decode(&sr) != nil {
				return // the run is over, or the worker gone
			}
			r.signal(run, syscall.Signal(sr.Signal))
		}
	}()
	<-run.ended
	_ = enc.Encode(runReply{Exited: true, Status: int(run.status), Ran: run.ran, Killed: run.killed})
}

// start forks and execs a hook in a process group of its own, tagged.
func (r *reaper) start(req startRequest, stdout, stderr *os.File) (*reapedRun, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.seq++
	run := &reapedRun{tag: strconv.Itoa(r.self) + "." + strconv.Itoa(r.seq), ended: make(chan struct{})}
	env := append(req.Env[:len(req.Env):len(req.Env)], tagEnv+"="+run.tag)
	// The reap loop takes mu too, so it cannot reap the hook before it is
	// in mains.
	pid, err := syscall.ForkExec(req.Argv[0], req.Argv, &syscall.ProcAttr{
		Dir:   req.Dir,
		Env:   env,
		Files: []uintptr{r.devnull.Fd(), stdout.Fd(), stderr.Fd()},
		Sys:   &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL},
	})
	if err != nil {
		return nil, err
	}
	run.pid, run.started = pid, time.Now()
	r.active[run.tag] = run
	r.mains[pid] = run
	return run, nil
}

// signal sends sig to a run's process group while its main process has not
// been reaped (after that the group's id could name another group).
func (r *reaper) signal(run *reapedRun, sig syscall.Signal) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !run.exited {
		_ = syscall.Kill(-run.pid, sig)
	}
}

// reapLoop reaps every child: hooks' main processes, whose runs it then
// cleans up, and the orphans re-parented to the reaper.
func (r *reaper) reapLoop(sigchld <-chan os.Signal) {
	tick := time.NewTicker(time.Second) // in case a SIGCHLD was merged away
	defer tick.Stop()
	for {
		select {
		case <-sigchld:
		case <-tick.C:
		}
		r.mu.Lock()
		for {
			var ws syscall.WaitStatus
			pid, err := syscall.Wait4(-1, &ws, syscall.WNOHANG, nil)
			if err == syscall.EINTR {
				continue
			}
			if err != nil || pid <= 0 {
				break
			}
			if run, ok := r.mains[pid]; ok {
				delete(r.mains, pid)
				run.exited, run.status, run.ran = true, ws, time.Since(run.started)
				go r.finish(run)
			}
		}
		r.mu.Unlock()
	}
}

// finish kills what a run left behind, then lets its serve report the end.
func (r *reaper) finish(run *reapedRun) {
	if !r.childless() {
		run.killed = r.kill(func(owner string, active map[string]bool) bool {
			return owner == run.tag || !active[owner]
		})
	}
	r.mu.Lock()
	delete(r.active, run.tag)
	r.mu.Unlock()
	close(run.ended)
}

// childless reports whether the reaper has no child at all, so its subtree
// is empty and there is nothing to scan /proc for: whatever a hook leaves
// behind descends from a child of the reaper (its own orphans are
// re-parented to it). This is the common case of one hook at a time.
func (r *reaper) childless() bool {
	r.mu.Lock() // no fork meanwhile
	defer r.mu.Unlock()
	var info unix.Siginfo
	for {
		err := unix.Waitid(unix.P_ALL, 0, &info, unix.WEXITED|unix.WNOHANG|unix.WNOWAIT, nil)
		if err != unix.EINTR {
			return err == unix.ECHILD
		}
	}
}

// killAll kills the reaper's whole subtree.
func (r *reaper) killAll() {
	r.kill(func(string, map[string]bool) bool { return true })
}

// kill sends SIGKILL to every process of the subtree that doomed says
// belongs to a run to end, until none is left (or cleanupLimit passes). It
// returns how many processes it killed.
func (r *reaper) kill(doomed func(owner string, active map[string]bool) bool) int {
	killed := map[int]bool{}
	denied := map[int]bool{}
	deadline := time.Now().Add(cleanupLimit)
	pause := time.Millisecond
	rescans := 0
	for {
		victims, unsure := r.victims(doomed)
		n := 0
		for _, pid := range victims {
			if denied[pid] {
				continue
			}
			n++
			if err := syscall.Kill(pid, syscall.SIGKILL); err == syscall.EPERM {
				denied[pid] = true // not ours to kill (a setuid program)
				continue
			}
			killed[pid] = true
		}
		if unsure {
			rescans++
		}
		// A chain of parents broken by an exit during the scan is worth a
		// few more scans, not more: on a busy host it may be anyone's.
		if n == 0 && (!unsure || rescans > 3) || time.Now().After(deadline) {
			if n > 0 {
				fmt.Fprintf(os.Stderr, "hookshot hook reaper: %d processes left by a hook did not die within %v\n", n, cleanupLimit)
			}
			return len(killed)
		}
		time.Sleep(pause)
		pause = min(2*pause, 50*time.Millisecond)
	}
}

// victims lists the live processes of the reaper's subtree that doomed
// picks. A process's owner is the run tag in its environment, else its
// parent's owner; a hook's main process belongs to its run whatever its
// environment says. unsure is set when a process's place in the tree could
// not be told (its parent exited during the scan): scan again.
func (r *reaper) victims(doomed func(owner string, active map[string]bool) bool) (out []int, unsure bool) {
	procs, unsure := r.scan()
	// After the scan: a process that shows in it was forked before, so a
	// hook's main process is in mains by now.
	r.mu.Lock()
	active := make(map[string]bool, len(r.active))
	for tag := range r.active {
		active[tag] = true
	}
	mainTag := make(map[int]string, len(r.mains))
	for pid, run := range r.mains {
		mainTag[pid] = run.tag
	}
	r.mu.Unlock()

	children := map[int][]int{}
	for pid, p := range procs {
		children[p.ppid] = append(children[p.ppid], pid)
	}
	type node struct {
		pid   int
		owner string
	}
	queue := []node{{r.self, ""}}
	for len(queue) > 0 {
		n := queue[0]
		queue = queue[1:]
		for _, c := range children[n.pid] {
			owner := n.owner
			if tag, ok := mainTag[c]; ok && n.pid == r.self {
				owner = tag
			} else if tag, ok := procTag(c); ok {
				owner = tag
			}
			queue = append(queue, node{c, owner})
			if !procs[c].dead && doomed(owner, active) {
				out = append(out, c)
			}
		}
	}
	return out, unsure
}

type procInfo struct {
	ppid int
	dead bool // a zombie, waiting to be reaped
	ino  uint64
}

// scan reads the parent and state of every process in /proc that may be in
// the reaper's subtree. A process found outside it is remembered (by pid
// and the inode of its /proc directory, which a new process with the same
// pid does not share) and not read again: a process outside the subtree
// never enters it, since an orphan goes to its nearest subreaper ancestor
// or to init. So after the first scan, one costs a directory listing and a
// read per process started since, not per process on the host.
func (r *reaper) scan() (procs map[int]procInfo, unsure bool) {
	r.scanMu.Lock()
	defer r.scanMu.Unlock()
	listed, err := listProc()
	if err != nil {
		return nil, true
	}
	procs = map[int]procInfo{}
	buf := make([]byte, 1024)
	for pid, ino := range listed {
		if r.outside[pid] == ino {
			continue
		}
		ppid, state, ok := readStat(pid, buf)
		if !ok {
			continue // gone meanwhile
		}
		procs[pid] = procInfo{ppid: ppid, dead: state == 'Z' || state == 'X', ino: ino}
	}
	// Remember what is outside: a process whose chain of parents ends at
	// the root (ppid 0) or at a known outsider without passing the reaper.
	// A chain that breaks (a parent exited during the scan) decides
	// nothing.
	outside := make(map[int]uint64, len(listed))
	for pid, ino := range r.outside {
		if listed[pid] == ino {
			outside[pid] = ino
		}
	}
	for pid, p := range procs {
		if pid == r.self {
			continue
		}
		at, hops := p.ppid, 0
		for ; hops < len(procs)+1; hops++ {
			if at == r.self {
				break
			}
			if at == 0 || outside[at] == listed[at] && listed[at] != 0 {
				outside[pid] = p.ino
				break
			}
			q, ok := procs[at]
			if !ok {
				unsure = true
				break
			}
			at = q.ppid
		}
	}
	r.outside = outside
	return procs, unsure
}

// listProc returns the pids in /proc, each with the inode number of its
// directory.
func listProc() (map[int]uint64, error) {
	fd, err := unix.Open("/proc", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	defer unix.Close(fd)
	out := map[int]uint64{}
	buf := make([]byte, 32<<10)
	for {
		n, err := unix.Getdents(fd, buf)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return nil, err
		}
		if n <= 0 {
			return out, nil
		}
		// struct linux_dirent64: ino u64, off s64, reclen u16, type u8,
		// name (NUL-terminated).
		for off := 0; off+19 <= n; {
			ino := binary.NativeEndian.Uint64(buf[off:])
			reclen := int(binary.NativeEndian.Uint16(buf[off+16:]))
			if reclen == 0 || off+reclen > n {
				break
			}
			name := buf[off+19 : off+reclen]
			if i := bytes.IndexByte(name, 0); i >= 0 {
				name = name[:i]
			}
			off += reclen
			if pid, err := strconv.Atoi(string(name)); err == nil && ino != 0 {
				out[pid] = ino
			}
		}
	}
}

// readStat returns the parent and state of pid from /proc/<pid>/stat.
func readStat(pid int, buf []byte) (ppid int, state byte, ok bool) {
	fd, err := unix.Open("/proc/"+strconv.Itoa(pid)+"/stat", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return 0, 0, false
	}
	n, err := unix.Read(fd, buf)
	unix.Close(fd)
	if err != nil || n <= 0 {
		return 0, 0, false
	}
	b := buf[:n]
	// The command name is in parentheses and may hold anything: fields
	// count from after the last ')'. State is field 3, ppid field 4.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, 0, false
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 2 || len(f[0]) != 1 {
		return 0, 0, false
	}
	ppid, err = strconv.Atoi(f[1])
	return ppid, f[0][0], err == nil
}

// procTag returns the run tag in the environment pid started with.
func procTag(pid int) (string, bool) {
	env, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/environ")
	if err != nil {
		return "", false
	}
	for kv := range bytes.SplitSeq(env, []byte{0}) {
		if v, ok := bytes.CutPrefix(kv, []byte(tagEnv+"=")); ok {
			return string(v), true
		}
	}
	return "", false
}
