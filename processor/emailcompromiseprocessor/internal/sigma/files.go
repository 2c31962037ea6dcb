package sigma

import (
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// File is one rule file: its name (for messages) and its content.
type File struct {
	Name string
	Data []byte
}

// ReadFiles reads the rule files that paths name: files, folders (every
// *.yml and *.yaml below, in name order) and globs. A file over maxBytes is
// rejected unread. Problems come back as rule errors naming the path, so
// that one bad path does not stop the others.
func ReadFiles(paths []string, maxBytes int64) ([]File, []*RuleError) {
	var names []string
	seen := map[string]bool{}
	var errs []*RuleError
	for _, p := range paths {
		matches := []string{p}
		if strings.ContainsAny(p, "*?[") {
			var err error
			if matches, err = filepath.Glob(p); err != nil {
				errs = append(errs, &RuleError{File: p, Reason: "bad glob: " + err.Error()})
				continue
			}
		}
		if len(matches) == 0 {
			errs = append(errs, &RuleError{File: p, Reason: "matches no file"})
		}
		for _, m := range matches {
			found, err := ruleFilesAt(m)
			if err != nil {
				errs = append(errs, &RuleError{File: m, Reason: err.Error()})
			}
			for _, f := range found {
				if !seen[f] {
					seen[f] = true
					names = append(names, f)
				}
			}
		}
	}
	files := make([]File, 0, len(names))
	for _, name := range names {
		data, err := readCapped(name, maxBytes)
		if err != nil {
			errs = append(errs, &RuleError{File: name, Reason: err.Error()})
			continue
		}
		files = append(files, File{Name: name, Data: data})
	}
	return files, errs
}

func ruleFilesAt(path string) ([]string, error) {
	info, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if !info.IsDir() {
		return []string{path}, nil
	}
	var out []string
	err = filepath.WalkDir(path, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if ext := strings.ToLower(filepath.Ext(p)); !d.IsDir() && (ext == ".yml" || ext == ".yaml") {
			out = append(out, p)
		}
		return nil
	})
	return out, err
}

// readCapped reads a file of at most maxBytes, refusing larger ones without
// reading them (an enormous file must not cost its size in memory).
func readCapped(name string, maxBytes int64) ([]byte, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if info, err := f.Stat(); err == nil && info.Size() > maxBytes {
		return nil, fmt.Errorf("file is %d bytes, over the %d-byte limit (sigma.max_file_bytes)", info.Size(), maxBytes)
	}
	data, err := io.ReadAll(io.LimitReader(f, maxBytes+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > maxBytes {
		return nil, fmt.Errorf("file is over the %d-byte limit (sigma.max_file_bytes)", maxBytes)
	}
	return data, nil
}
