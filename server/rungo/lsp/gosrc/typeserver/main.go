//go:debug gotypesalias=1

// Command typeserver type-checks Go packages on request, as the compiler's type checker would,
// against the compiler's export data of their imports, keeping what it read between requests.
//
// It reads one JSON request per line on stdin and writes one JSON answer per line on stdout:
//
//	{"id": 1, "cfg": "digest", "importcfg": {"fmt": "/cache/fmt.a"}, "lang": "go1.22",
//	 "goarch": "amd64", "path": "example.com/m/p", "files": [{"name": "/m/p/a.go", "data": null}]}
//	{"id": 1, "report": "/m/p/a.go:3:14: undefined: x\n", "syntax": false, "stale": false}
//
// A file whose data is null is read from disk. "report" is written as the compiler writes its
// errors (file:line:col: message, sorted, duplicates dropped). "syntax" says the parser found
// errors (the report then holds only those); "stale" says an import of the import config could not
// be read (the caller's inputs no longer hold). The dependencies' packages are kept per import
// config (the last few), and each file's syntax tree while its content stays the same.
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"go/ast"
	"go/importer"
	"go/parser"
	"go/scanner"
	"go/token"
	"go/types"
	"io"
	"os"
	"regexp"
	"sort"
	"strings"
)

type fileRequest struct {
	Name string  `json:"name"`
	Data *string `json:"data"`
}

type request struct {
	ID        int64             `json:"id"`
	Cfg       string            `json:"cfg"`
	ImportCfg map[string]string `json:"importcfg"`
	Lang      string            `json:"lang"`
	GoArch    string            `json:"goarch"`
	Path      string            `json:"path"`
	Files     []fileRequest     `json:"files"`
}

type answer struct {
	ID     int64  `json:"id"`
	Report string `json:"report"`
	Syntax bool   `json:"syntax"`
	Stale  bool   `json:"stale"`
	Error  string `json:"error,omitempty"`
}

// parsed is a file's syntax tree and the content it was parsed from.
type parsed struct {
	data []byte
	file *ast.File
	errs scanner.ErrorList
	used int64
}

// imports is the importer of one import config: its packages are kept between requests.
type imports struct {
	files map[string]string
	gc    types.ImporterFrom
	stale bool
	used  int64
}

func (im *imports) Import(path string) (*types.Package, error) {
	return im.ImportFrom(path, "", 0)
}

func (im *imports) ImportFrom(path, dir string, mode types.ImportMode) (*types.Package, error) {
	if path == "unsafe" {
		return types.Unsafe, nil
	}
	if _, ok := im.files[path]; !ok {
		return nil, fmt.Errorf("can't find import: %q", path)
	}
	pkg, err := im.gc.ImportFrom(path, dir, mode)
	if err != nil {
		im.stale = true
	}
	return pkg, err
}

const (
	keptConfigs = 6     // import configs whose packages are kept
	resetFiles  = 20000 // files parsed into one file set before everything is read afresh
)

type server struct {
	fset    *token.FileSet
	trees   map[string]*parsed
	configs map[string]*imports
	parses  int
	clock   int64
}

func newServer() *server {
	return &server{fset: token.NewFileSet(), trees: map[string]*parsed{}, configs: map[string]*imports{}}
}

func (s *server) importer(req *request) *imports {
	im := s.configs[req.Cfg]
	if im == nil || im.stale {
		files := req.ImportCfg
		lookup := func(path string) (io.ReadCloser, error) {
			name, ok := files[path]
			if !ok {
				return nil, fmt.Errorf("can't find import: %q", path)
			}
			return os.Open(name)
		}
		im = &imports{files: files, gc: importer.ForCompiler(s.fset, "gc", lookup).(types.ImporterFrom)}
		s.configs[req.Cfg] = im
		for len(s.configs) > keptConfigs {
			oldest := ""
			for k, c := range s.configs {
				if oldest == "" || c.used < s.configs[oldest].used {
					oldest = k
				}
			}
			delete(s.configs, oldest)
		}
	}
	im.used = s.clock
	return im
}

func (s *server) parse(name string, data []byte) *parsed {
	if p := s.trees[name]; p != nil && string(p.data) == string(data) {
		p.used = s.clock
		return p
	}
	f, err := parser.ParseFile(s.fset, name, data, parser.ParseComments|parser.SkipObjectResolution)
	p := &parsed{data: data, file: f, used: s.clock}
	if list, ok := err.(scanner.ErrorList); ok {
		p.errs = list
	} else if err != nil {
		p.errs = scanner.ErrorList{&scanner.Error{Pos: token.Position{Filename: name, Line: 1, Column: 1}, Msg: err.Error()}}
	}
	s.trees[name] = p
	s.parses++
	return p
}

// The compiler's hint after a language version error (cmd/compile/internal/noder, checkFiles).
var versionError = regexp.MustCompile(`requires go[0-9]+\.[0-9]+ or later`)

type message struct {
	pos token.Position
	msg string
}

func (s *server) check(req *request) answer {
	s.clock++
	if s.parses > resetFiles {
		*s = *newServer()
		s.clock = 1
	}
	var files []*ast.File
	var syntax []message
	for _, fr := range req.Files {
		var data []byte
		if fr.Data != nil {
			data = []byte(*fr.Data)
		} else {
			d, err := os.ReadFile(fr.Name)
			if err != nil {
				return answer{ID: req.ID, Stale: true, Error: err.Error()}
			}
			data = d
		}
		p := s.parse(fr.Name, data)
		for _, e := range p.errs {
			syntax = append(syntax, message{e.Pos, e.Msg})
		}
		if p.file != nil {
			files = append(files, p.file)
		}
	}
	if len(syntax) > 0 {
		return answer{ID: req.ID, Report: report(syntax), Syntax: true}
	}
	im := s.importer(req)
	var found []message
	info := &types.Info{FileVersions: map[*ast.File]string{}}
	byName := map[string]*ast.File{}
	for _, f := range files {
		byName[s.fset.File(f.Pos()).Name()] = f
	}
	conf := types.Config{
		GoVersion: req.Lang,
		Importer:  im,
		Sizes:     types.SizesFor("gc", req.GoArch),
		Error: func(err error) {
			terr, ok := err.(types.Error)
			if !ok {
				found = append(found, message{token.Position{}, err.Error()})
				return
			}
			pos := terr.Fset.Position(terr.Pos)
			msg := terr.Msg
			if versionError.MatchString(msg) {
				if f := byName[terr.Fset.File(terr.Pos).Name()]; f != nil && f.GoVersion != "" && f.GoVersion == info.FileVersions[f] {
					msg = fmt.Sprintf("%s (file declares //go:build %s)", msg, f.GoVersion)
				} else {
					msg = fmt.Sprintf("%s (-lang was set to %s; check go.mod)", msg, req.Lang)
				}
			}
			found = append(found, message{pos, msg})
		},
	}
	conf.Check(req.Path, s.fset, files, info)
	return answer{ID: req.ID, Report: report(found), Stale: im.stale}
}

// report writes messages as the compiler does: sorted by position, an exact repeat dropped.
func report(ms []message) string {
	sort.SliceStable(ms, func(i, j int) bool {
		a, b := ms[i].pos, ms[j].pos
		if a.Filename != b.Filename {
			return a.Filename < b.Filename
		}
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		return a.Column < b.Column
	})
	var b strings.Builder
	last := ""
	for _, m := range ms {
		var line string
		if m.pos.Filename == "" {
			line = m.msg + "\n"
		} else {
			line = fmt.Sprintf("%s:%d:%d: %s\n", m.pos.Filename, m.pos.Line, m.pos.Column, m.msg)
		}
		if line != last {
			b.WriteString(line)
		}
		last = line
	}
	return b.String()
}

func main() {
	in := bufio.NewReaderSize(os.Stdin, 1<<20)
	out := bufio.NewWriter(os.Stdout)
	enc := json.NewEncoder(out)
	s := newServer()
	for {
		line, err := in.ReadBytes('\n')
		if len(line) > 0 {
			var req request
			var a answer
			if jerr := json.Unmarshal(line, &req); jerr != nil {
				a = answer{ID: req.ID, Error: "bad request: " + jerr.Error()}
			} else {
				a = s.check(&req)
			}
			if eerr := enc.Encode(&a); eerr != nil {
				os.Exit(1)
			}
			if ferr := out.Flush(); ferr != nil {
				os.Exit(1)
			}
		}
		if err != nil {
			return
		}
	}
}
