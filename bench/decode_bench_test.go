package bench

import (
	"encoding/json"
	"slices"
	"testing"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/otelsec/emailcompromise/internal/auditrecord"
	"github.com/otelsec/emailcompromise/internal/jsonpdata"
	"github.com/otelsec/emailcompromise/internal/testing/loadgen"
)

// recordsPerShape is how many generated records of each vendor shape one
// decode op converts.
const recordsPerShape = 400

// shapeRecords returns recordsPerShape records of each shape from a
// generated tenant (benign and attack records as they come), built once.
var shapeRecords = func() func(tb testing.TB) map[loadgen.Shape][][]byte {
	var out map[loadgen.Shape][][]byte
	return func(tb testing.TB) map[loadgen.Shape][][]byte {
		tb.Helper()
		if out != nil {
			return out
		}
		g, err := loadgen.New(loadgen.Config{Seed: 7, Users: 2000, Days: 1})
		if err != nil {
			tb.Fatal(err)
		}
		out = map[loadgen.Shape][][]byte{}
		err = g.Each(func(r *loadgen.Record) error {
			if len(out[r.Shape]) < recordsPerShape {
				out[r.Shape] = append(out[r.Shape], slices.Clone(r.JSON))
			}
			return nil
		})
		if err != nil {
			tb.Fatal(err)
		}
		return out
	}
}()

// decodeOurs is the receiver's path: bytes decoded straight into the map
// body (key order and integer types kept), the normalised view built once,
// the contract attributes written.
func decodeOurs(records [][]byte, lrs plog.LogRecordSlice, view *auditrecord.Record) error {
	for _, data := range records {
		lr := lrs.AppendEmpty()
		body := lr.Body().SetEmptyMap()
		if err := jsonpdata.DecodeMap(data, body, jsonpdata.Limits{}); err != nil {
			return err
		}
		if err := auditrecord.Parse(body, view); err != nil {
			return err
		}
		view.PutAttributes(lr.Attributes())
	}
	return nil
}

// decodeStdlib is the baseline: encoding/json into map[string]any, then
// pcommon.Map.FromRaw, then the same view and attributes. It loses the
// vendor's key order (Go maps are unordered) and turns every integer into
// a double (RecordType 15 becomes 15.0), so it is not lossless; it is the
// usual way to get JSON into pdata.
func decodeStdlib(records [][]byte, lrs plog.LogRecordSlice, view *auditrecord.Record) error {
	for _, data := range records {
		var raw map[string]any
		if err := json.Unmarshal(data, &raw); err != nil {
			return err
		}
		lr := lrs.AppendEmpty()
		body := lr.Body().SetEmptyMap()
		if err := body.FromRaw(raw); err != nil {
			return err
		}
		if err := auditrecord.Parse(body, view); err != nil {
			return err
		}
		view.PutAttributes(lr.Attributes())
	}
	return nil
}

// BenchmarkDecode converts vendor bytes into pdata log records (body and
// contract attributes), per shape, our way and the encoding/json way; MB/s
// is of the vendor bytes.
func BenchmarkDecode(b *testing.B) {
	all := shapeRecords(b)
	for _, shape := range loadgen.Shapes {
		records := all[shape]
		size := 0
		for _, r := range records {
			size += len(r)
		}
		for _, impl := range []struct {
			name string
			fn   func([][]byte, plog.LogRecordSlice, *auditrecord.Record) error
		}{{"jsonpdata", decodeOurs}, {"encoding_json_fromraw", decodeStdlib}} {
			b.Run(shape.String()+"/"+impl.name, func(b *testing.B) {
				var view auditrecord.Record
				b.SetBytes(int64(size))
				b.ReportAllocs()
				for b.Loop() {
					lrs := plog.NewLogRecordSlice()
					lrs.EnsureCapacity(len(records))
					if err := impl.fn(records, lrs, &view); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(records)), "ns/record")
			})
		}
	}
}

// TestDecodeBaselineLosesWhatOursKeeps documents why the baseline is not
// lossless, so the comparison is not read as like for like: both produce
// the same attributes, but the body differs.
func TestDecodeBaselineLosesWhatOursKeeps(t *testing.T) {
	rec := shapeRecords(t)[loadgen.ShapeO365][0]
	var view auditrecord.Record
	ours, std := plog.NewLogRecordSlice(), plog.NewLogRecordSlice()
	if err := decodeOurs([][]byte{rec}, ours, &view); err != nil {
		t.Fatal(err)
	}
	if err := decodeStdlib([][]byte{rec}, std, &view); err != nil {
		t.Fatal(err)
	}
	if !ours.At(0).Attributes().Equal(std.At(0).Attributes()) {
		t.Errorf("attributes differ:\n%v\n%v", ours.At(0).Attributes().AsRaw(), std.At(0).Attributes().AsRaw())
	}
	rt, _ := ours.At(0).Body().Map().Get("RecordType")
	rtStd, _ := std.At(0).Body().Map().Get("RecordType")
	if rt.Type() != pcommon.ValueTypeInt || rtStd.Type() != pcommon.ValueTypeDouble {
		t.Errorf("RecordType: ours %s, baseline %s; want Int and Double", rt.Type(), rtStd.Type())
	}
	var firstKey string
	ours.At(0).Body().Map().Range(func(k string, _ pcommon.Value) bool { firstKey = k; return false })
	if firstKey != "CreationTime" {
		t.Errorf("our body starts with %q, want the vendor's first key CreationTime", firstKey)
	}
}

// BenchmarkView measures building the normalised view alone (the part of
// the processor's per-record cost that internal/auditrecord owns), per
// shape, on bodies decoded beforehand, with the source known from the
// receiver's attribute as the processor has it. Used by the profiling pass;
// make bench does not run it.
func BenchmarkView(b *testing.B) {
	all := shapeRecords(b)
	for _, shape := range loadgen.Shapes {
		var bodies []pcommon.Map
		for _, data := range all[shape] {
			m := pcommon.NewMap()
			if err := jsonpdata.DecodeMap(data, m, jsonpdata.Limits{}); err != nil {
				b.Fatal(err)
			}
			bodies = append(bodies, m)
		}
		src := auditrecord.Source(shape.Source())
		b.Run(shape.String(), func(b *testing.B) {
			var view auditrecord.Record
			b.ReportAllocs()
			for b.Loop() {
				for _, body := range bodies {
					if err := auditrecord.ParseAs(body, src, &view); err != nil {
						b.Fatal(err)
					}
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(bodies)), "ns/record")
		})
	}
}
