package snapshot

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/open-telemetry/opentelemetry-collector-contrib/extension/storage/storagetest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/extension/xextension/storage"
)

// failingClient refuses to write the chunk named failOn.
type failingClient struct {
	storage.Client
	failOn string
}

func (c failingClient) Set(ctx context.Context, key string, value []byte) error {
	if key == c.failOn {
		return errors.New("disk full")
	}
	return c.Client.Set(ctx, key, value)
}

func load(t *testing.T, client storage.Client) ([]int, []byte) {
	t.Helper()
	var got []int
	_, meta, err := Load(context.Background(), client, "p", Gob[int]{}, func(v int) { got = append(got, v) })
	require.NoError(t, err)
	return got, meta
}

func keys(t *testing.T, client *storagetest.TestClient) []string {
	t.Helper()
	var out []string
	require.NoError(t, client.Walk(context.Background(), func(k string, _ []byte) ([]*storage.Operation, error) {
		out = append(out, k)
		return nil, nil
	}))
	slices.Sort(out)
	return out
}

// TestSaveLoad: items come back in order with their metadata; a failed
// save leaves the previous snapshot readable; each save removes the
// previous generation; Delete removes all.
func TestSaveLoad(t *testing.T) {
	ctx := context.Background()
	client := storagetest.NewInMemoryClient(component.KindConnector, component.MustNewID("test"), "")
	got, meta := load(t, client)
	assert.Empty(t, got, "no snapshot yet")
	assert.Nil(t, meta)

	_, err := Save(ctx, client, "p", 2, []byte("first"), slices.Values([]int{1, 2, 3, 4, 5}), Gob[int]{})
	require.NoError(t, err)
	got, meta = load(t, client)
	assert.Equal(t, []int{1, 2, 3, 4, 5}, got)
	assert.Equal(t, "first", string(meta))

	_, err = Save(ctx, failingClient{Client: client, failOn: "p/2/1"}, "p", 2, []byte("second"), slices.Values([]int{6, 7, 8}), Gob[int]{})
	require.ErrorContains(t, err, "disk full")
	got, meta = load(t, client)
	assert.Equal(t, []int{1, 2, 3, 4, 5}, got, "the previous snapshot is whole")
	assert.Equal(t, "first", string(meta))

	m, err := Save(ctx, client, "p", 2, nil, slices.Values([]int{9}), Gob[int]{})
	require.NoError(t, err)
	assert.Equal(t, Manifest{Generation: 2, Chunks: 1}, m)
	got, _ = load(t, client)
	assert.Equal(t, []int{9}, got)
	for _, k := range keys(t, client) {
		assert.True(t, k == "p/manifest" || strings.HasPrefix(k, "p/2/"), "key %s of an older generation left", k)
	}

	require.NoError(t, Delete(ctx, client, "p"))
	assert.Empty(t, keys(t, client))
}

func TestClientErrors(t *testing.T) {
	host := storagetest.NewStorageHost().WithNonStorageExtension("other")
	_, err := Client(context.Background(), host, component.MustNewID("file_storage"), component.KindConnector, component.MustNewID("x"))
	assert.ErrorContains(t, err, `storage: extension "file_storage" is not configured`)
	_, err = Client(context.Background(), host, storagetest.NewNonStorageID("other"), component.KindConnector, component.MustNewID("x"))
	assert.ErrorContains(t, err, "is not a storage extension")
}
