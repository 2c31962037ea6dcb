package filesource // import "github.com/otelsec/emailcompromise/receiver/auditlogreceiver/internal/filesource"

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"time"

	"go.opentelemetry.io/collector/pdata/plog"
	"go.uber.org/zap"

	"github.com/otelsec/emailcompromise/receiver/auditlogreceiver/internal/logrecord"
)

const (
	// AttrFileName is the semantic-convention attribute of a record read
	// from a file that holds the file's base name.
	AttrFileName = "log.file.name"
	// AttrFilePath holds the path of the file a record was read from.
	AttrFilePath = "log.file.path"
)

// Settings are what the file source needs to know from the receiver's
// files block, in its own units.
type Settings struct {
	// Include and Exclude are path/filepath globs: the files read are those
	// Include matches and Exclude does not.
	Include, Exclude []string
	// PollInterval is how often the globs are matched again for new and
	// grown files.
	PollInterval time.Duration
	// MaxRecordBytes bounds one record; a larger one is passed on as a parse
	// error holding its first PreviewBytes.
	MaxRecordBytes int
	// BatchSize and MaxBatchBytes cut batches: a batch is handed on once it
	// holds BatchSize records or its records' raw bytes reach MaxBatchBytes.
	BatchSize     int
	MaxBatchBytes int
	// IncompleteRecordTimeout is how long a file that ends inside a record
	// must stay unchanged before that end is passed on as a parse error.
	IncompleteRecordTimeout time.Duration
	// ScopeName and ScopeVersion name the instrumentation scope of the
	// records (the receiver's scope name and the collector's version).
	ScopeName, ScopeVersion string
}

// Metrics is what the file source counts. The receiver implements it with
// its own telemetry; the source knows no metric names.
type Metrics interface {
	// RecordsBuilt adds what the record builder counted since the last
	// batch: records read, parse errors, unrecognised records.
	RecordsBuilt(ctx context.Context, counts logrecord.Counts)
	// ReadError counts a file that could not be read (once per distinct
	// error and path).
	ReadError(ctx context.Context)
}

// Deliver hands a batch to the next consumer. It returns nil once the batch
// is done with (accepted, or refused for good and counted), and an error
// only when ctx ended first. The pipeline may change logs in place; asRead
// builds the batch again as it was read, and may be called only before
// Deliver returns.
type Deliver = func(ctx context.Context, logs plog.Logs, asRead func() plog.Logs) error

// Source reads exported audit files: it finds them by glob on every
// poll, reads what is new in each and remembers how far it got.
type Source struct {
	set         Settings
	logger      *zap.Logger
	metrics     Metrics
	checkpoints *Checkpoints
	// builders build a batch's records, one goroutine each (one per
	// core the process may use, GOMAXPROCS when the batch is built).
	builders []logrecord.Builder
	// rebuilder builds a batch again for its delivery (see fileBatch).
	rebuilder logrecord.Builder
	// tracked is what the last poll saw at each path.
	tracked map[string]*trackedFile
	// readErrors is the last read error reported per path, so that a file
	// that stays unreadable is reported once, not on every poll.
	readErrors map[string]string
	// now times how long a file has been unchanged; tests replace it.
	now func() time.Time
	// open opens a file to read; tests replace it to refuse access as the
	// file system would refuse a user without the permission.
	open func(name string) (*os.File, error)
}

type trackedFile struct {
	path       string
	info       os.FileInfo
	checkpoint *fileCheckpoint
	// unchanged: the same file, size and modification time as at the last
	// poll, so its checkpoint still describes it without a look inside.
	unchanged bool
	// changedAt is when this source last saw the file change, or first saw
	// it: an incomplete end is given up incomplete_record_timeout later.
	changedAt time.Time
	// copyOf is the checkpoint, claimed by another file in this poll, up to
	// whose position this file holds the same bytes: this file is a copy
	// (copy-truncate rotation, or one made by hand). It is read after the
	// other file, from where that read ended if it holds the same bytes up
	// to there too, so the content the two share is read once.
	copyOf *fileCheckpoint
}

// New returns the source of the files set selects, going on from the
// checkpoints loaded from storage (LoadCheckpoints).
func New(set Settings, logger *zap.Logger, metrics Metrics, checkpoints *Checkpoints) *Source {
	return &Source{
		set:         set,
		logger:      logger,
		metrics:     metrics,
		checkpoints: checkpoints,
		builders:    newBuilders(runtime.GOMAXPROCS(0), set.MaxRecordBytes),
		rebuilder:   logrecord.NewBuilder(set.MaxRecordBytes),
		tracked:     make(map[string]*trackedFile),
		readErrors:  make(map[string]string),
		now:         time.Now,
		open:        os.Open,
	}
}

// Run polls the files until ctx ends. It hands each batch to deliver and
// advances a file's checkpoint only after deliver returned nil.
func (s *Source) Run(ctx context.Context, deliver Deliver) {
	ticker := time.NewTicker(s.set.PollInterval)
	defer ticker.Stop()
	for {
		s.poll(ctx, deliver)
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
	}
}

// poll reads what is new in every matched file. It stops early only when ctx
// ends; what was not acknowledged by then is read again next time.
func (s *Source) poll(ctx context.Context, deliver Deliver) {
	files, matcher, unreadable := s.identify(ctx)
	b := s.newBatch(deliver)
	// However reading stops, the delivery in flight ends before the poll
	// does: it applies checkpoints, which the next poll reads.
	defer b.wait()
	for _, f := range files {
		if ctx.Err() != nil {
			return
		}
		if err := s.readFile(ctx, f, b); err != nil {
			return
		}
	}
	if err := b.flush(ctx); err != nil {
		return
	}
	if err := b.wait(); err != nil {
		return
	}
	// Checkpoints of files that are gone are dropped; those of files that
	// are there but unreadable are kept, or they would be read again from
	// the start once readable.
	s.checkpoints.retain(func(cp *fileCheckpoint) bool {
		return matcher.claimed[cp] || unreadable[cp.Path]
	})
	s.save(ctx)
}

// matchedPaths lists the files the globs select, sorted and without repeats.
func (s *Source) matchedPaths() []string {
	var paths []string
	for _, pattern := range s.set.Include {
		// Patterns were validated, so Glob cannot fail.
		matches, _ := filepath.Glob(pattern)
		for _, p := range matches {
			if !s.excluded(p) {
				paths = append(paths, p)
			}
		}
	}
	slices.Sort(paths)
	return slices.Compact(paths)
}

func (s *Source) excluded(path string) bool {
	for _, pattern := range s.set.Exclude {
		if ok, _ := filepath.Match(pattern, path); ok {
			return true
		}
	}
	return false
}

// identify gives each matched file its checkpoint (a new one for a new file)
// and returns the files in the order they are read (path order, copies after
// the files they copy), the matcher that knows which checkpoints were
// claimed, and the paths that could not be looked at.
func (s *Source) identify(ctx context.Context) ([]*trackedFile, *checkpointMatcher, map[string]bool) {
	type candidate struct {
		file   *trackedFile
		prefix []byte
	}
	paths := s.matchedPaths()
	matcher := s.checkpoints.matcher()
	tracked := make(map[string]*trackedFile, len(paths))
	unreadable := make(map[string]bool)
	now := s.now()
	var candidates []candidate
	for _, path := range paths {
		info, err := os.Stat(path)
		if err != nil {
			s.readFailed(ctx, path, err)
			unreadable[path] = true
			continue
		}
		if !hasContent(info) {
			continue
		}
		prev := s.tracked[path]
		if prev != nil && unchanged(prev.info, info) {
			prev.unchanged, prev.copyOf = true, nil
			matcher.claim(prev.checkpoint)
			tracked[path] = prev
			continue
		}
		info, prefix, err := s.readHead(path)
		if err != nil {
			s.readFailed(ctx, path, err)
			unreadable[path] = true
			continue
		}
		if !hasContent(info) {
			continue
		}
		candidates = append(candidates, candidate{&trackedFile{path: path, info: info, changedAt: now}, prefix})
	}
	// Files still at their path first, so that a renamed file cannot take
	// the checkpoint of one that starts alike.
	for _, c := range candidates {
		c.file.checkpoint = matcher.atPath(c.file.path, c.prefix)
	}
	for _, c := range candidates {
		f := c.file
		if f.checkpoint == nil {
			f.checkpoint = matcher.moved(c.prefix)
		}
		if f.checkpoint == nil {
			cp, err := s.copyCheckpoint(f, c.prefix, matcher)
			if err != nil {
				// Left to the next poll, which looks at it afresh; a
				// rotation is no read error.
				if !errors.Is(err, errRotated) {
					s.readFailed(ctx, f.path, err)
					unreadable[f.path] = true
				}
				continue
			}
			f.checkpoint = cp
		}
		if f.checkpoint == nil {
			f.checkpoint = s.checkpoints.add(c.prefix, f.path, resumePoint{})
			matcher.claim(f.checkpoint)
		}
		if f.checkpoint.Path != f.path {
			s.logger.Info("audit file was renamed; reading on where it was", zap.String("from", f.checkpoint.Path), zap.String("to", f.path))
			s.checkpoints.rename(f.checkpoint, f.path)
		}
		f.checkpoint.refreshFingerprint(c.prefix)
		tracked[f.path] = f
	}
	s.tracked = tracked
	for path := range s.readErrors {
		if tracked[path] == nil && !unreadable[path] {
			delete(s.readErrors, path)
		}
	}
	files := make([]*trackedFile, 0, len(tracked))
	for _, path := range paths {
		if f := tracked[path]; f != nil {
			files = append(files, f)
		}
	}
	slices.SortStableFunc(files, func(a, b *trackedFile) int {
		return cmp.Compare(boolRank(a.copyOf != nil), boolRank(b.copyOf != nil))
	})
	return files, matcher, unreadable
}

func boolRank(b bool) int {
	if b {
		return 1
	}
	return 0
}

// copyCheckpoint returns a checkpoint of f's own when f starts like a file
// that claimed a checkpoint in this poll and holds the same bytes up to that
// checkpoint's position: a copy, whose content up to there was read from the
// other file (copy-truncate rotation polled between the copy and the
// truncate, or a copy made by hand). Reading it from its start would pass
// those records on twice. It returns nil when f is no such copy, and an error
// when f could not be looked at.
func (s *Source) copyCheckpoint(f *trackedFile, prefix []byte, matcher *checkpointMatcher) (*fileCheckpoint, error) {
	original := matcher.copied(prefix)
	if original == nil || original.Position.Offset == 0 {
		return nil, nil
	}
	file, err := s.openIdentified(f)
	if err != nil {
		return nil, err
	}
	defer file.Close()
	_, err = openRecords(file, f.info.Size(), original.Position, s.set.MaxRecordBytes)
	switch {
	case errors.Is(err, errBeyondEnd) || errors.Is(err, errContentChanged):
		return nil, nil
	case err != nil:
		return nil, err
	}
	s.logger.Info("audit file holds what was read from another file up to where reading stopped (a copy); reading it on from there",
		zap.String("path", f.path), zap.String("copy_of", original.Path), zap.Int64("offset", original.Position.Offset))
	cp := s.checkpoints.add(prefix, f.path, original.Position)
	matcher.claim(cp)
	f.copyOf = original
	return cp, nil
}

func hasContent(info os.FileInfo) bool {
	return info.Mode().IsRegular() && info.Size() > 0
}

// unchanged reports whether a file is certainly the same as at the last poll,
// so that its fingerprint need not be read again.
func unchanged(before, now os.FileInfo) bool {
	return os.SameFile(before, now) && before.Size() == now.Size() && before.ModTime().Equal(now.ModTime())
}

// readHead returns the file at path's description and first bytes, both of
// one open descriptor, so that they describe the same file even when the
// path is rotated meanwhile.
func (s *Source) readHead(path string) (os.FileInfo, []byte, error) {
	f, err := s.open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, nil, err
	}
	prefix := make([]byte, fingerprintSize)
	n, err := f.ReadAt(prefix, 0)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, nil, err
	}
	return info, prefix[:n], nil
}

// errRotated: the path names another file than the one identified at the
// start of the poll.
var errRotated = errors.New("file was rotated since this poll looked at it")

// openIdentified opens f's path and checks that it still names the file
// identified at the start of the poll: reading a file rotated in between
// would read the new file under the old one's checkpoint.
func (s *Source) openIdentified(f *trackedFile) (*os.File, error) {
	file, err := s.open(f.path)
	if err != nil {
		return nil, err
	}
	info, err := file.Stat()
	if err == nil && !os.SameFile(f.info, info) {
		err = errRotated
	}
	if err != nil {
		file.Close()
		return nil, err
	}
	return file, nil
}

// rawEndAnchor hashes the last bytes of the first size bytes of file as
// they are on disk.
func rawEndAnchor(file *os.File, size int64) (string, error) {
	tail := make([]byte, min(size, anchorSize))
	if _, err := file.ReadAt(tail, size-int64(len(tail))); err != nil {
		return "", err
	}
	return fingerprint(tail), nil
}

// incompleteEndDue reports whether f has been unchanged long enough for its
// incomplete end to be given up.
func (s *Source) incompleteEndDue(f *trackedFile) bool {
	return s.now().Sub(f.changedAt) >= s.set.IncompleteRecordTimeout
}

// readFile passes on what is new in f. It returns an error only when ctx
// ended while a batch was waiting to be accepted.
func (s *Source) readFile(ctx context.Context, f *trackedFile, b *fileBatch) error {
	cp := f.checkpoint
	size := f.info.Size()
	// Read to this very size before, and nothing pending whose wait is over.
	readBefore := cp.EndSize == size && (!cp.Pending || !s.incompleteEndDue(f))
	if readBefore && f.unchanged {
		return nil
	}
	file, err := s.openIdentified(f)
	if errors.Is(err, errRotated) {
		// Both the file under its new name and the one now at this path
		// are identified afresh on the next poll.
		s.logger.Debug("audit file was rotated while being looked at; reading it on the next poll", zap.String("path", f.path))
		delete(s.tracked, f.path)
		return nil
	}
	if err != nil {
		s.readFailed(ctx, f.path, err)
		return nil
	}
	defer file.Close()
	if readBefore {
		// A checkpoint saved before end anchors existed has none; it is
		// trusted as it was.
		if anchor, err := rawEndAnchor(file, size); cp.EndAnchor == "" || (err == nil && anchor == cp.EndAnchor) {
			return nil
		}
	}
	if f.copyOf != nil {
		// Where the read of the file it copies ended may be in the
		// delivery in flight.
		if err := b.wait(); err != nil {
			return err
		}
	}
	records, err := s.openRecordsOf(f, file, b)
	if err != nil {
		s.readFailed(ctx, f.path, err)
		return nil
	}

	b.beginFile(f.path)
	layout := cp.Position.Layout
	for {
		raw, err := records.next()
		// A single object is told from JSON lines by what follows it:
		// it is told once the read ends there.
		if found := records.currentLayout(); found != layout && found.known() && (found != LayoutSingleObject || err != nil) {
			s.logger.Info("audit file layout", zap.String("path", f.path), zap.String("layout", string(found)))
			layout = found
		}
		if err != nil {
			s.endFile(ctx, f, file, b, records, err)
			return nil
		}
		b.add(raw)
		if b.full() {
			b.commits = append(b.commits, commit{checkpoint: cp, position: records.resumePoint()})
			if err := b.flush(ctx); err != nil {
				return err
			}
		}
	}
}

// openRecordsOf opens f's records where reading goes on: for a copy, where
// the read of the file it copies ended, if it holds the same bytes up to
// there; else at its checkpoint; and from the start when the file no longer
// holds what was read up to the checkpoint.
func (s *Source) openRecordsOf(f *trackedFile, file *os.File, b *fileBatch) (recordReader, error) {
	size, maxRecordBytes := f.info.Size(), s.set.MaxRecordBytes
	if f.copyOf != nil {
		// Where the read of the file it copies ended, unless that read went
		// back: the copied file was truncated after this poll identified it
		// and was read from its start. The copy goes on from where the
		// copied file stood when the copy was identified, then.
		at := b.position(f.copyOf)
		if at.Offset < f.checkpoint.Position.Offset {
			at = f.checkpoint.Position
		}
		records, err := openRecords(file, size, at, maxRecordBytes)
		if !errors.Is(err, errBeyondEnd) && !errors.Is(err, errContentChanged) {
			return records, err
		}
	}
	at := f.checkpoint.Position
	records, err := openRecords(file, size, at, maxRecordBytes)
	switch {
	case errors.Is(err, errBeyondEnd):
		s.logger.Warn("audit file is shorter than where reading stopped; it was rewritten in place, reading it from the start",
			zap.String("path", f.path), zap.Int64("offset", at.Offset))
	case errors.Is(err, errContentChanged):
		s.logger.Warn("audit file no longer holds what was read up to where reading stopped; it was replaced by other content that starts alike, reading it from the start",
			zap.String("path", f.path), zap.Int64("offset", at.Offset))
	default:
		return records, err
	}
	return openRecords(file, size, resumePoint{}, maxRecordBytes)
}

// endFile handles what ended the read of f and records how far it got.
func (s *Source) endFile(ctx context.Context, f *trackedFile, file *os.File, b *fileBatch, records recordReader, end error) {
	done := commit{checkpoint: f.checkpoint}
	var corrupt *corruptStreamError
	switch {
	case errors.Is(end, io.EOF):
	case errors.Is(end, errIncomplete) || errors.Is(end, errTruncated):
		if !s.incompleteEndDue(f) {
			done.pending = true
			break
		}
		tail := records.abandon()
		wait := s.set.IncompleteRecordTimeout
		if errors.Is(end, errIncomplete) {
			tail.Problem = fmt.Sprintf("file ends inside a record at offset %d and has not changed for %s", tail.Offset, wait)
		} else {
			tail.Problem = fmt.Sprintf("gzip stream ends early (after %d decompressed bytes) and the file has not changed for %s: it was cut short, or its writer stopped without closing the stream",
				records.resumePoint().Offset, wait)
		}
		b.add(tail)
	case errors.As(end, &corrupt):
		tail := records.abandon()
		tail.Problem = fmt.Sprintf("%v (after %d decompressed bytes); nothing after it can be read", corrupt, records.resumePoint().Offset)
		b.add(tail)
	default:
		// An I/O error: keep what was read, try the rest next poll.
		done.position = records.resumePoint()
		b.commits = append(b.commits, done)
		s.readFailed(ctx, f.path, end)
		return
	}
	done.position = records.resumePoint()
	// Without the end anchor the next poll reads on from the position,
	// which finds nothing new just as well.
	if anchor, err := rawEndAnchor(file, f.info.Size()); err == nil {
		done.endSize, done.endAnchor = f.info.Size(), anchor
	}
	b.commits = append(b.commits, done)
	delete(s.readErrors, f.path)
}

// readFailed logs and counts a read error the first time it happens for a
// path; the file is tried again on every poll.
func (s *Source) readFailed(ctx context.Context, path string, err error) {
	msg := err.Error()
	if s.readErrors[path] == msg {
		return
	}
	s.readErrors[path] = msg
	s.logger.Warn("cannot read audit file; trying again on later polls", zap.String("path", path), zap.Error(err))
	s.metrics.ReadError(ctx)
}

func (s *Source) save(ctx context.Context) {
	// The checkpoint of an accepted batch must be written even when ctx has
	// just ended, or its records would be read twice.
	if err := s.checkpoints.save(context.WithoutCancel(ctx)); err != nil {
		s.logger.Warn("cannot save file checkpoints; after a restart, files are read again from the last saved position", zap.Error(err))
	}
}

func newBuilders(n, maxRecordBytes int) []logrecord.Builder {
	builders := make([]logrecord.Builder, n)
	for i := range builders {
		builders[i] = logrecord.NewBuilder(maxRecordBytes)
	}
	return builders
}
