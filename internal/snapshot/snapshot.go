// Package snapshot writes a component's in-memory state to the collector's
// storage extension and reads it back, so that what a stateful component
// learned survives a restart.
//
// A snapshot is written in chunks under a new generation, then the manifest
// is switched to that generation, then the previous generation's chunks are
// deleted. A crash at any point leaves the previous complete snapshot
// readable: a reader never sees half of one.
//
// Keys, for a prefix P: P/manifest ("<generation> <chunks>"), P/<generation>/<i>
// (a chunk of items, encoded by the caller's Codec), and P/<generation>/meta
// (the caller's metadata, when there is any).
package snapshot // import "github.com/otelsec/emailcompromise/internal/snapshot"

import (
	"bytes"
	"context"
	"encoding/gob"
	"errors"
	"fmt"
	"iter"
	"strconv"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/extension/xextension/storage"
)

// Codec encodes a chunk of items for storage and decodes one back.
type Codec[T any] interface {
	// Encode returns the encoding of items, in memory of its own: the
	// storage client may keep it, and items are reused for the next chunk.
	Encode(items []T) ([]byte, error)
	// Decode calls restore for every item of a chunk, in order.
	Decode(data []byte, restore func(T)) error
}

// Gob is the Codec of encoding/gob: a chunk is a gob-encoded []T.
type Gob[T any] struct{}

func (Gob[T]) Encode(items []T) ([]byte, error) {
	var buf bytes.Buffer
	err := gob.NewEncoder(&buf).Encode(items)
	return buf.Bytes(), err
}

func (Gob[T]) Decode(data []byte, restore func(T)) error {
	var items []T
	if err := gob.NewDecoder(bytes.NewReader(data)).Decode(&items); err != nil {
		return err
	}
	for _, item := range items {
		restore(item)
	}
	return nil
}

// Manifest names the snapshot that is complete.
type Manifest struct {
	Generation uint64
	Chunks     int
}

// Save writes every item of items in chunks of perChunk, encoded by codec,
// and meta beside them, under prefix, and returns the manifest of the
// snapshot it wrote.
// A chunk is encoded and written when it is full, before Save asks for
// the next item: once the yield of every perChunk-th item returns, Save
// holds none of the items before it, whose memory items may reuse.
func Save[T any](ctx context.Context, client storage.Client, prefix string, perChunk int, meta []byte, items iter.Seq[T], codec Codec[T]) (Manifest, error) {
	old, err := ReadManifest(ctx, client, prefix)
	if err != nil {
		return Manifest{}, err
	}
	next := Manifest{Generation: old.Generation + 1}
	chunk := make([]T, 0, perChunk)
	flush := func() error {
		if len(chunk) == 0 {
			return nil
		}
		data, err := codec.Encode(chunk)
		if err != nil {
			return fmt.Errorf("encode snapshot chunk: %w", err)
		}
		if err := client.Set(ctx, chunkKey(prefix, next.Generation, next.Chunks), data); err != nil {
			return err
		}
		next.Chunks++
		chunk = chunk[:0]
		return nil
	}
	for item := range items {
		chunk = append(chunk, item)
		if len(chunk) == perChunk {
			if err := flush(); err != nil {
				return Manifest{}, err
			}
		}
	}
	if err := flush(); err != nil {
		return Manifest{}, err
	}
	if meta != nil {
		if err := client.Set(ctx, metaKey(prefix, next.Generation), meta); err != nil {
			return Manifest{}, err
		}
	}
	if err := client.Set(ctx, manifestKey(prefix), []byte(strconv.FormatUint(next.Generation, 10)+" "+strconv.Itoa(next.Chunks))); err != nil {
		return Manifest{}, err
	}
	if ops := deletes(prefix, old); len(ops) > 0 {
		return next, client.Batch(ctx, ops...)
	}
	return next, nil
}

// Load reads the latest complete snapshot under prefix, its chunks decoded
// by codec: restore is called for every item, in the order Save wrote them.
// It returns the number of items and the metadata (nil when there is no
// snapshot or none was saved with it).
func Load[T any](ctx context.Context, client storage.Client, prefix string, codec Codec[T], restore func(T)) (int, []byte, error) {
	m, err := ReadManifest(ctx, client, prefix)
	if err != nil || m.Generation == 0 {
		return 0, nil, err
	}
	meta, err := client.Get(ctx, metaKey(prefix, m.Generation))
	if err != nil {
		return 0, nil, err
	}
	n := 0
	for i := 0; i < m.Chunks; i++ {
		data, err := client.Get(ctx, chunkKey(prefix, m.Generation, i))
		if err != nil {
			return n, meta, err
		}
		if data == nil {
			return n, meta, fmt.Errorf("snapshot generation %d lacks chunk %d", m.Generation, i)
		}
		if err := codec.Decode(data, func(item T) { restore(item); n++ }); err != nil {
			return n, meta, fmt.Errorf("decode snapshot chunk %d: %w", i, err)
		}
	}
	return n, meta, nil
}

// Delete removes the snapshot under prefix: a layout a release no longer
// reads.
func Delete(ctx context.Context, client storage.Client, prefix string) error {
	m, err := ReadManifest(ctx, client, prefix)
	if err != nil || m.Generation == 0 {
		return err
	}
	return client.Batch(ctx, append(deletes(prefix, m), storage.DeleteOperation(manifestKey(prefix)))...)
}

// ReadManifest returns the manifest under prefix; the zero Manifest when
// there is none.
func ReadManifest(ctx context.Context, client storage.Client, prefix string) (Manifest, error) {
	data, err := client.Get(ctx, manifestKey(prefix))
	if err != nil || data == nil {
		return Manifest{}, err
	}
	gen, chunks, ok := bytes.Cut(data, []byte{' '})
	if !ok {
		return Manifest{}, errors.New("snapshot manifest is corrupt")
	}
	g, err1 := strconv.ParseUint(string(gen), 10, 64)
	c, err2 := strconv.Atoi(string(chunks))
	if err1 != nil || err2 != nil || c < 0 {
		return Manifest{}, errors.New("snapshot manifest is corrupt")
	}
	return Manifest{Generation: g, Chunks: c}, nil
}

// deletes lists the keys of generation m.
func deletes(prefix string, m Manifest) []*storage.Operation {
	if m.Generation == 0 {
		return nil
	}
	ops := make([]*storage.Operation, 0, m.Chunks+1)
	for i := 0; i < m.Chunks; i++ {
		ops = append(ops, storage.DeleteOperation(chunkKey(prefix, m.Generation, i)))
	}
	return append(ops, storage.DeleteOperation(metaKey(prefix, m.Generation)))
}

func manifestKey(prefix string) string { return prefix + "/manifest" }

func chunkKey(prefix string, generation uint64, chunk int) string {
	return fmt.Sprintf("%s/%d/%d", prefix, generation, chunk)
}

func metaKey(prefix string, generation uint64) string {
	return fmt.Sprintf("%s/%d/meta", prefix, generation)
}

// Client returns the storage client of the extension id for the component
// self of the given kind; the error names the storage key and the fix.
func Client(ctx context.Context, host component.Host, id component.ID, kind component.Kind, self component.ID) (storage.Client, error) {
	ext, ok := host.GetExtensions()[id]
	if !ok {
		return nil, fmt.Errorf("storage: extension %q is not configured; add it under extensions: and service::extensions, or remove the storage key", id)
	}
	se, ok := ext.(storage.Extension)
	if !ok {
		return nil, fmt.Errorf("storage: extension %q is not a storage extension; use e.g. file_storage", id)
	}
	return se.GetClient(ctx, kind, self, "")
}
