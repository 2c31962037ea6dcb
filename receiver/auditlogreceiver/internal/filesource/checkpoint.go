package filesource // import "github.com/otelsec/emailcompromise/receiver/auditlogreceiver/internal/filesource"

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"

	"go.opentelemetry.io/collector/extension/xextension/storage"
)

const (
	// fingerprintSize is how many leading bytes identify a file, whatever its
	// name: enough to tell apart exports that share a header line.
	fingerprintSize = 1024
	// checkpointKey is the storage key of all file checkpoints.
	checkpointKey      = "file_checkpoints"
	checkpointsVersion = 1
)

// fileCheckpoint is the saved progress of one file. It is found again by the
// fingerprint of the file's first bytes, so a renamed or rotated file goes on
// where it was; the anchors of its positions tell a file replaced by one that
// starts alike, which is read anew.
type fileCheckpoint struct {
	// Fingerprint is the hash of the first FingerprintSize bytes; a file
	// shorter than fingerprintSize when first seen has a shorter one, which
	// grows with the file.
	Fingerprint     string `json:"fingerprint"`
	FingerprintSize int    `json:"fingerprint_size"`
	// Path is where the file was last seen.
	Path string `json:"path"`
	// Position follows the last record the next consumer accepted.
	Position resumePoint `json:"position"`
	// EndSize is the file's size when it was last read to its end (0 while
	// a read is unfinished): a file of that size whose last bytes hash to
	// EndAnchor has nothing new. The raw bytes are compared, not the
	// decompressed ones, so that a gzip file need not be decompressed to
	// find that nothing changed.
	EndSize   int64  `json:"end_size,omitempty"`
	EndAnchor string `json:"end_anchor,omitempty"`
	// Pending says that read ended inside a record, which the writer may
	// still complete.
	Pending bool `json:"pending,omitempty"`
}

func fingerprint(prefix []byte) string {
	sum := sha256.Sum256(prefix)
	return hex.EncodeToString(sum[:16])
}

func (cp *fileCheckpoint) matches(prefix []byte) bool {
	return len(prefix) >= cp.FingerprintSize && fingerprint(prefix[:cp.FingerprintSize]) == cp.Fingerprint
}

// refreshFingerprint lengthens the fingerprint of a file that has grown
// since it was first seen, so that it tells the file apart better.
func (cp *fileCheckpoint) refreshFingerprint(prefix []byte) {
	if len(prefix) > cp.FingerprintSize {
		cp.Fingerprint, cp.FingerprintSize = fingerprint(prefix), len(prefix)
	}
}

// Checkpoints holds the checkpoints of all known files and saves them
// together under one storage key: storage clients cannot list keys, and a
// file's checkpoint must be found by its fingerprint, not by a name.
type Checkpoints struct {
	client storage.Client
	files  []*fileCheckpoint
	dirty  bool
}

type savedCheckpoints struct {
	Version int               `json:"version"`
	Files   []*fileCheckpoint `json:"files"`
}

// LoadCheckpoints reads the checkpoints of all files from storage (none
// yet: an empty store). Unreadable or foreign-version checkpoints are an
// error that says how to start afresh.
func LoadCheckpoints(ctx context.Context, client storage.Client) (*Checkpoints, error) {
	s := &Checkpoints{client: client}
	data, err := client.Get(ctx, checkpointKey)
	if err != nil {
		return nil, fmt.Errorf("reading file checkpoints from storage: %w", err)
	}
	if data == nil {
		return s, nil
	}
	var saved savedCheckpoints
	if err := json.Unmarshal(data, &saved); err != nil {
		return nil, fmt.Errorf("file checkpoints in storage are unreadable (%w); delete the receiver's storage to read all files again", err)
	}
	if saved.Version != checkpointsVersion {
		return nil, fmt.Errorf("file checkpoints in storage have version %d, this receiver reads version %d; delete the receiver's storage to read all files again", saved.Version, checkpointsVersion)
	}
	s.files = saved.Files
	return s, nil
}

func (s *Checkpoints) save(ctx context.Context) error {
	if !s.dirty {
		return nil
	}
	data, err := json.Marshal(savedCheckpoints{Version: checkpointsVersion, Files: s.files})
	if err != nil {
		return err
	}
	if err := s.client.Set(ctx, checkpointKey, data); err != nil {
		return err
	}
	s.dirty = false
	return nil
}

// commit is a checkpoint change that takes effect once the batch before it
// is accepted.
type commit struct {
	checkpoint *fileCheckpoint
	position   resumePoint
	endSize    int64
	endAnchor  string
	pending    bool
}

func (s *Checkpoints) apply(commits []commit) {
	for _, c := range commits {
		cp := c.checkpoint
		cp.Position, cp.EndSize, cp.EndAnchor, cp.Pending = c.position, c.endSize, c.endAnchor, c.pending
	}
	s.dirty = true
}

func (s *Checkpoints) rename(cp *fileCheckpoint, path string) {
	cp.Path = path
	s.dirty = true
}

// add starts the checkpoint of a file first seen at path, at position.
func (s *Checkpoints) add(prefix []byte, path string, position resumePoint) *fileCheckpoint {
	cp := &fileCheckpoint{Fingerprint: fingerprint(prefix), FingerprintSize: len(prefix), Path: path, Position: position}
	s.files = append(s.files, cp)
	s.dirty = true
	return cp
}

// retain forgets the files that keep reports false for: files no longer
// there are read anew if they come back.
func (s *Checkpoints) retain(keep func(*fileCheckpoint) bool) {
	n := len(s.files)
	s.files = slices.DeleteFunc(s.files, func(cp *fileCheckpoint) bool { return !keep(cp) })
	s.dirty = s.dirty || len(s.files) != n
}

// checkpointMatcher assigns checkpoints to the files of one poll, each
// checkpoint to one file at most.
type checkpointMatcher struct {
	byPath        map[string][]*fileCheckpoint
	byFingerprint map[string][]*fileCheckpoint
	sizes         []int // distinct fingerprint sizes
	claimed       map[*fileCheckpoint]bool
}

func (s *Checkpoints) matcher() *checkpointMatcher {
	m := &checkpointMatcher{
		byPath:        make(map[string][]*fileCheckpoint),
		byFingerprint: make(map[string][]*fileCheckpoint),
		claimed:       make(map[*fileCheckpoint]bool),
	}
	for _, cp := range s.files {
		m.byPath[cp.Path] = append(m.byPath[cp.Path], cp)
		m.byFingerprint[cp.Fingerprint] = append(m.byFingerprint[cp.Fingerprint], cp)
		if !slices.Contains(m.sizes, cp.FingerprintSize) {
			m.sizes = append(m.sizes, cp.FingerprintSize)
		}
	}
	slices.Sort(m.sizes)
	return m
}

func (m *checkpointMatcher) claim(cp *fileCheckpoint) { m.claimed[cp] = true }

// atPath finds the checkpoint of the file last seen at path if the file there
// is still the same one. Matching by path first keeps two files that start
// alike from taking each other's checkpoint.
func (m *checkpointMatcher) atPath(path string, prefix []byte) *fileCheckpoint {
	for _, cp := range m.byPath[path] {
		if !m.claimed[cp] && cp.matches(prefix) {
			m.claim(cp)
			return cp
		}
	}
	return nil
}

// moved finds the checkpoint of a file last seen under another name (renamed
// or rotated), preferring the longest fingerprint that matches.
func (m *checkpointMatcher) moved(prefix []byte) *fileCheckpoint {
	found := m.longestMatch(prefix, false)
	if found != nil {
		m.claim(found)
	}
	return found
}

// copied finds the checkpoint, already claimed in this poll by another file,
// whose fingerprint prefix matches: the file may be a copy of that one.
func (m *checkpointMatcher) copied(prefix []byte) *fileCheckpoint {
	return m.longestMatch(prefix, true)
}

func (m *checkpointMatcher) longestMatch(prefix []byte, claimed bool) *fileCheckpoint {
	var found *fileCheckpoint
	for _, size := range m.sizes {
		if size > len(prefix) {
			break
		}
		for _, cp := range m.byFingerprint[fingerprint(prefix[:size])] {
			if m.claimed[cp] == claimed && cp.FingerprintSize == size {
				found = cp
			}
		}
	}
	return found
}
