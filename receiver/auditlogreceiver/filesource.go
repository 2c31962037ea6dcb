package auditlogreceiver // import "github.com/otelsec/emailcompromise/receiver/auditlogreceiver"

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"time"

	"go.opentelemetry.io/otel/metric"
	"go.uber.org/zap"

	"github.com/otelsec/emailcompromise/receiver/auditlogreceiver/internal/metadata"
)

const (
	// stalledPollsBeforeTail is how many polls a file must keep the size at
	// which it ends inside a record before that tail is passed on as a parse
	// error: long enough for a writer to finish a record, short enough that
	// a truncated export does not hide its last record.
	stalledPollsBeforeTail = 2

	attrFileName = "log.file.name"
	attrFilePath = "log.file.path"
)

// fileSource reads exported audit files: it finds them by glob on every
// poll, reads what is new in each and remembers how far it got.
type fileSource struct {
	cfg          FilesConfig
	logger       *zap.Logger
	telemetry    *metadata.TelemetryBuilder
	attrs        metric.MeasurementOption
	buildVersion string
	checkpoints  *checkpointStore
	builder      recordBuilder
	// tracked is what the last poll saw at each path.
	tracked map[string]*trackedFile
	// readErrors is the last read error reported per path, so that a file
	// that stays unreadable is reported once, not on every poll.
	readErrors map[string]string
}

type trackedFile struct {
	path         string
	info         os.FileInfo
	checkpoint   *fileCheckpoint
	stalledPolls int
}

func newFileSource(cfg FilesConfig, logger *zap.Logger, tb *metadata.TelemetryBuilder, buildVersion string, checkpoints *checkpointStore) *fileSource {
	return &fileSource{
		cfg:          cfg,
		logger:       logger,
		telemetry:    tb,
		attrs:        sourceAttrs(sourceFiles),
		buildVersion: buildVersion,
		checkpoints:  checkpoints,
		builder:      newRecordBuilder(int(cfg.MaxRecordBytes)),
		tracked:      make(map[string]*trackedFile),
		readErrors:   make(map[string]string),
	}
}

func (s *fileSource) run(ctx context.Context, deliver deliverFunc) {
	ticker := time.NewTicker(s.cfg.PollInterval)
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
func (s *fileSource) poll(ctx context.Context, deliver deliverFunc) {
	files, matcher, unreadable := s.identify(ctx)
	b := s.newBatch(deliver)
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
	// Checkpoints of files that are gone are dropped; those of files that
	// are there but unreadable are kept, or they would be read again from
	// the start once readable.
	s.checkpoints.retain(func(cp *fileCheckpoint) bool {
		return matcher.claimed[cp] || unreadable[cp.Path]
	})
	s.save(ctx)
}

// matchedPaths lists the files the globs select, sorted and without repeats.
func (s *fileSource) matchedPaths() []string {
	var paths []string
	for _, pattern := range s.cfg.Include {
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

func (s *fileSource) excluded(path string) bool {
	for _, pattern := range s.cfg.Exclude {
		if ok, _ := filepath.Match(pattern, path); ok {
			return true
		}
	}
	return false
}

// identify gives each matched file its checkpoint (a new one for a new file)
// and returns the files in path order, the matcher that knows which
// checkpoints were claimed, and the paths that could not be looked at.
func (s *fileSource) identify(ctx context.Context) ([]*trackedFile, *checkpointMatcher, map[string]bool) {
	type candidate struct {
		file   *trackedFile
		prefix []byte
	}
	paths := s.matchedPaths()
	matcher := s.checkpoints.matcher()
	tracked := make(map[string]*trackedFile, len(paths))
	unreadable := make(map[string]bool)
	var candidates []candidate
	for _, path := range paths {
		info, err := os.Stat(path)
		if err != nil {
			s.readFailed(ctx, path, err)
			unreadable[path] = true
			continue
		}
		if !info.Mode().IsRegular() || info.Size() == 0 {
			continue
		}
		prev := s.tracked[path]
		if prev != nil && unchanged(prev.info, info) {
			matcher.claim(prev.checkpoint)
			tracked[path] = prev
			continue
		}
		prefix, err := readPrefix(path)
		if err != nil {
			s.readFailed(ctx, path, err)
			unreadable[path] = true
			continue
		}
		f := &trackedFile{path: path, info: info}
		if prev != nil && prev.info.Size() == info.Size() {
			f.stalledPolls = prev.stalledPolls
		}
		candidates = append(candidates, candidate{f, prefix})
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
			f.checkpoint = s.checkpoints.add(c.prefix, f.path)
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
	return files, matcher, unreadable
}

// unchanged reports whether a file is certainly the same as at the last poll,
// so that its fingerprint need not be read again.
func unchanged(before, now os.FileInfo) bool {
	return os.SameFile(before, now) && before.Size() == now.Size() && before.ModTime().Equal(now.ModTime())
}

func readPrefix(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	prefix := make([]byte, fingerprintSize)
	n, err := io.ReadFull(f, prefix)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return nil, err
	}
	return prefix[:n], nil
}

// readFile passes on what is new in f. It returns an error only when ctx
// ended while a batch was waiting to be accepted.
func (s *fileSource) readFile(ctx context.Context, f *trackedFile, b *fileBatch) error {
	cp := f.checkpoint
	size := f.info.Size()
	if cp.EndSize == size {
		if !cp.Pending {
			return nil
		}
		// The file ends inside a record and has not grown: give the
		// writer a few polls before passing the tail on.
		f.stalledPolls++
		if f.stalledPolls < stalledPollsBeforeTail {
			return nil
		}
	} else {
		f.stalledPolls = 0
	}

	file, err := os.Open(f.path)
	if err != nil {
		s.readFailed(ctx, f.path, err)
		return nil
	}
	defer file.Close()
	records, err := openRecords(file, size, cp.Position, int(s.cfg.MaxRecordBytes))
	if errors.Is(err, errBeyondEnd) {
		s.logger.Warn("audit file is shorter than where reading stopped; it was rewritten in place, reading it from the start",
			zap.String("path", f.path), zap.Int64("offset", cp.Position.Offset))
		records, err = openRecords(file, size, resumePoint{}, int(s.cfg.MaxRecordBytes))
	}
	if err != nil {
		s.readFailed(ctx, f.path, err)
		return nil
	}

	b.beginFile(f.path)
	for {
		raw, err := records.next()
		if err != nil {
			s.endFile(ctx, f, b, records, err)
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

// endFile handles what ended the read of f and records how far it got.
func (s *fileSource) endFile(ctx context.Context, f *trackedFile, b *fileBatch, records recordReader, end error) {
	done := commit{checkpoint: f.checkpoint, endSize: f.info.Size()}
	var corrupt *corruptStreamError
	switch {
	case errors.Is(end, io.EOF):
	case errors.Is(end, errIncomplete) || errors.Is(end, errTruncated):
		if f.stalledPolls < stalledPollsBeforeTail {
			done.pending = true
			break
		}
		tail := records.abandon()
		if errors.Is(end, errIncomplete) {
			tail.problem = fmt.Sprintf("file ends inside a record at offset %d", tail.offset)
		} else {
			tail.problem = fmt.Sprintf("gzip stream ends early (after %d decompressed bytes): the file is truncated", records.resumePoint().Offset)
		}
		b.add(tail)
		f.stalledPolls = 0
	case errors.As(end, &corrupt):
		tail := records.abandon()
		tail.problem = fmt.Sprintf("%v (after %d decompressed bytes); nothing after it can be read", corrupt, records.resumePoint().Offset)
		b.add(tail)
	default:
		// An I/O error: keep what was read, try the rest next poll.
		done.endSize = 0
		done.position = records.resumePoint()
		b.commits = append(b.commits, done)
		s.readFailed(ctx, f.path, end)
		return
	}
	done.position = records.resumePoint()
	b.commits = append(b.commits, done)
	delete(s.readErrors, f.path)
}

// readFailed logs and counts a read error the first time it happens for a
// path; the file is tried again on every poll.
func (s *fileSource) readFailed(ctx context.Context, path string, err error) {
	msg := err.Error()
	if s.readErrors[path] == msg {
		return
	}
	s.readErrors[path] = msg
	s.logger.Warn("cannot read audit file; trying again on later polls", zap.String("path", path), zap.Error(err))
	s.telemetry.AuditLogReadErrors.Add(ctx, 1, s.attrs)
}

func (s *fileSource) save(ctx context.Context) {
	// The checkpoint of an accepted batch must be written even when ctx has
	// just ended, or its records would be read twice.
	if err := s.checkpoints.save(context.WithoutCancel(ctx)); err != nil {
		s.logger.Warn("cannot save file checkpoints; after a restart, files are read again from the last saved position", zap.Error(err))
	}
}
