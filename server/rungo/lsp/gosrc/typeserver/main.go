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
//
// A request with a "graph" (a digest the caller gives its package graph) checks the package against
// its dependencies type-checked from source instead, as gopls does before anything is compiled:
//
//	{"id": 2, "graph": "digest", "imports": ["fmt"], "packages": [{"path": "fmt", "dir": "/goroot/src/fmt",
//	 "files": ["print.go"], "imports": ["errors"]}, ...], "lang": "go1.22", "goarch": "amd64", "path": "main",
//	 "files": [...]}
//
// "packages" may be left out once the graph was sent; the answer says "unknown" when it is not
// known (then it must be sent). A dependency is checked without its function bodies, its errors
// ignored and `import "C"` taken as a fake package; it is kept while its files' sizes and
// modification times, and its imports, stay the same.
package main

import (
	"bufio"
	"crypto/sha256"
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
	"runtime"
	"sort"
	"strings"
	"sync"
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
	Graph     string            `json:"graph"`
	Imports   []string          `json:"imports"`
	Packages  []graphPackage    `json:"packages"`
}

type graphPackage struct {
	Path    string            `json:"path"`
	Dir     string            `json:"dir"`
	Files   []string          `json:"files"`
	Imports []string          `json:"imports"`
	Data    map[string]string `json:"data"` // unsaved content, by file
}

type answer struct {
	ID     int64  `json:"id"`
	Report string `json:"report"`
	Syntax bool   `json:"syntax"`
	Stale   bool   `json:"stale"`
	Unknown bool   `json:"unknown,omitempty"`
	Error   string `json:"error,omitempty"`
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
	resetFiles  = 60000 // files parsed into one file set before everything is read afresh
)

type server struct {
	fset    *token.FileSet
	trees   map[string]*parsed
	configs map[string]*imports
	graphs  map[string]*graph
	sources *sourceCache
	parses  int
	clock   int64
}

func newServer() *server {
	return &server{fset: token.NewFileSet(), trees: map[string]*parsed{}, configs: map[string]*imports{},
		graphs: map[string]*graph{}, sources: newSourceCache()}
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
		keepNewest(s.configs, keptConfigs, func(c *imports) int64 { return c.used })
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
	if s.parses+s.sources.parses > resetFiles {
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
	if req.Graph != "" {
		g := s.graph(req)
		if g == nil {
			return answer{ID: req.ID, Unknown: true}
		}
		roots := make([]string, 0, len(req.Imports))
		for _, imp := range req.Imports {
			roots = append(roots, resolve(imp, req.Imports))
		}
		s.load(g, roots)
		found := s.typeCheck(req, files, &sourceImporter{s: s, g: g, imports: req.Imports})
		return answer{ID: req.ID, Report: report(found)}
	}
	im := s.importer(req)
	found := s.typeCheck(req, files, im)
	return answer{ID: req.ID, Report: report(found), Stale: im.stale}
}

// typeCheck checks the package's files as the compiler's type checker would, and returns its errors.
func (s *server) typeCheck(req *request, files []*ast.File, im types.ImporterFrom) []message {
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
			if strings.HasPrefix(msg, "\t") && len(found) > 0 {
				// A later part of one error (go/types reports each part with a position of its own):
				// a continuation line, as the compiler prints it.
				last := &found[len(found)-1]
				last.msg += fmt.Sprintf("\n\t%s:%d:%d: %s", pos.Filename, pos.Line, pos.Column, msg[1:])
				return
			}
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
	return found
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

// keptGraphs is how many package graphs are kept (each names its dependencies' kept packages).
const keptGraphs = 6

// graph is a package graph as the caller sent it, with each package's key: its path, its files'
// names, sizes and modification times (as they were when the graph was sent), and its imports' keys.
type graph struct {
	pkgs   map[string]*graphPackage
	keys   map[string]string
	goarch string
	used   int64
}

// sourceCache holds dependencies type-checked from source, by key; safe for concurrent use.
type sourceCache struct {
	mu     sync.Mutex
	done   map[string]*sourceEntry
	parses int
}

type sourceEntry struct {
	ready chan struct{}
	pkg   *types.Package
}

func newSourceCache() *sourceCache {
	return &sourceCache{done: map[string]*sourceEntry{}}
}

// graph is the request's graph: known, or made from its packages (nil when neither).
func (s *server) graph(req *request) *graph {
	if g := s.graphs[req.Graph]; g != nil && req.Packages == nil {
		g.used = s.clock
		return g
	}
	if req.Packages == nil {
		return nil
	}
	g := &graph{pkgs: map[string]*graphPackage{}, keys: map[string]string{}, goarch: req.GoArch, used: s.clock}
	for i := range req.Packages {
		p := &req.Packages[i]
		g.pkgs[p.Path] = p
	}
	for path := range g.pkgs {
		g.key(path, map[string]bool{})
	}
	s.graphs[req.Graph] = g
	keepNewest(s.graphs, keptGraphs, func(g *graph) int64 { return g.used })
	return g
}

func (g *graph) key(path string, visiting map[string]bool) string {
	if k, ok := g.keys[path]; ok {
		return k
	}
	p := g.pkgs[path]
	if p == nil || visiting[path] {
		return "-" // not in the graph, or a cycle: checked without it
	}
	visiting[path] = true
	var b strings.Builder
	fmt.Fprintf(&b, "%s\x00%s\x00%s\x00", g.goarch, path, p.Dir)
	for _, f := range p.Files {
		name := f
		if !strings.HasPrefix(name, "/") {
			name = p.Dir + string(os.PathSeparator) + f
		}
		if d, ok := p.Data[name]; ok {
			fmt.Fprintf(&b, "%s unsaved %x\x00", f, sha256.Sum256([]byte(d)))
		} else if fi, err := os.Stat(name); err == nil {
			fmt.Fprintf(&b, "%s %d %d\x00", f, fi.Size(), fi.ModTime().UnixNano())
		} else {
			fmt.Fprintf(&b, "%s missing\x00", f)
		}
	}
	for _, imp := range p.Imports {
		fmt.Fprintf(&b, "%s=%s\x00", imp, g.key(imp, visiting))
	}
	delete(visiting, path)
	k := fmt.Sprintf("%x", sha256.Sum256([]byte(b.String())))
	g.keys[path] = k
	return k
}

// resolve is the package an import path in the source of a package with these imports names: the
// path itself, or the standard library's vendored copy of it.
func resolve(path string, imports []string) string {
	for _, imp := range imports {
		if imp == path {
			return path
		}
	}
	for _, imp := range imports {
		if imp == "vendor/"+path {
			return imp
		}
	}
	return path
}

// sourceImporter imports the packages of a graph checked from source (by load, beforehand).
type sourceImporter struct {
	s       *server
	g       *graph
	imports []string
}

func (im *sourceImporter) Import(path string) (*types.Package, error) {
	return im.ImportFrom(path, "", 0)
}

func (im *sourceImporter) ImportFrom(path, dir string, mode types.ImportMode) (*types.Package, error) {
	if path == "unsafe" {
		return types.Unsafe, nil
	}
	resolved := resolve(path, im.imports)
	key, ok := im.g.keys[resolved]
	if !ok {
		return nil, fmt.Errorf("can't find import: %q", path)
	}
	pkg := im.s.sources.get(key)
	if pkg == nil {
		return nil, fmt.Errorf("can't find import: %q", path)
	}
	return pkg, nil
}

func (c *sourceCache) get(key string) *types.Package {
	c.mu.Lock()
	e := c.done[key]
	c.mu.Unlock()
	if e == nil {
		return nil
	}
	<-e.ready
	return e.pkg
}

// load checks the packages below roots that are not kept yet, each once its imports are done,
// as many at a time as there are processors.
func (s *server) load(g *graph, roots []string) {
	var order []string
	seen := map[string]bool{}
	var walk func(string)
	walk = func(path string) {
		if seen[path] || g.pkgs[path] == nil {
			return
		}
		seen[path] = true
		for _, imp := range g.pkgs[path].Imports {
			walk(imp)
		}
		order = append(order, path)
	}
	for _, r := range roots {
		walk(r)
	}
	c := s.sources
	sem := make(chan struct{}, runtime.GOMAXPROCS(0))
	var wg sync.WaitGroup
	for _, path := range order {
		key := g.keys[path]
		c.mu.Lock()
		if c.done[key] != nil {
			c.mu.Unlock()
			continue
		}
		e := &sourceEntry{ready: make(chan struct{})}
		c.done[key] = e
		c.mu.Unlock()
		wg.Add(1)
		go func(p *graphPackage, e *sourceEntry) {
			defer wg.Done()
			defer close(e.ready)
			for _, imp := range p.Imports {
				if k, ok := g.keys[imp]; ok {
					c.get(k)
				}
			}
			sem <- struct{}{}
			defer func() { <-sem }()
			e.pkg = s.checkSource(g, p)
		}(g.pkgs[path], e)
	}
	wg.Wait()
}

// checkSource type-checks a dependency from its files: its exported API is what matters, so
// function bodies are skipped and its errors are ignored.
func (s *server) checkSource(g *graph, p *graphPackage) *types.Package {
	var files []*ast.File
	for _, name := range p.Files {
		if !strings.HasPrefix(name, "/") {
			name = p.Dir + string(os.PathSeparator) + name
		}
		var src any
		if d, ok := p.Data[name]; ok {
			src = d
		}
		f, _ := parser.ParseFile(s.fset, name, src, parser.SkipObjectResolution)
		if f != nil {
			files = append(files, f)
		}
	}
	s.sources.mu.Lock()
	s.sources.parses += len(files)
	s.sources.mu.Unlock()
	conf := types.Config{
		Importer:         &sourceImporter{s: s, g: g, imports: p.Imports},
		Sizes:            types.SizesFor("gc", g.goarch),
		FakeImportC:      true,
		IgnoreFuncBodies: true,
		Error:            func(error) {},
	}
	pkg, _ := conf.Check(p.Path, s.fset, files, nil)
	return pkg
}

// keepNewest drops the least recently used entries of m until it holds at most n.
func keepNewest[V any](m map[string]V, n int, used func(V) int64) {
	for len(m) > n {
		oldest := ""
		for k, v := range m {
			if oldest == "" || used(v) < used(m[oldest]) {
				oldest = k
			}
		}
		delete(m, oldest)
	}
}
