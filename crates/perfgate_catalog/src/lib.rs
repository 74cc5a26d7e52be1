//! The API catalogue: data, not code. Which library calls block, sleep, wait, burn CPU,
//! reach the network, bound or offload work. Bundled per language (`catalog/*.toml`) and
//! extensible from the user's config with the same schema.

use perfgate_model::{split_path, Language, Name, Path};
use rustc_hash::FxHashMap;
use serde::Deserialize;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    BlockingIo,
    BlockingSleep,
    BlockingWait,
    CpuHeavy,
    AsyncSleep,
    Remote,
    Timeout,
    Offload,
    Concurrent,
    Gpu,
    GpuCleanup,
    Client,
    ClientTimeout,
    /// Bounds every request a server handles: a timeout middleware (tower's
    /// `TimeoutLayer`). Remote work in the project's handlers then has a deadline.
    RequestTimeout,
    BlockingLock,
    AsyncLock,
    /// Opens a connection, client or pool: costly to repeat per call.
    Connection,
    /// Opens one connection that is a session of its own (a socket, a WebSocket): a
    /// function that serves the session (reads it in a loop, relays it) opens one per call
    /// by design.
    Session,
    /// Copies one stream into another until either closes (`copy_bidirectional`).
    Relay,
    /// Loads a model from disk.
    ModelLoad,
    /// Reads a file (a configuration file when its path is constant).
    ConfigLoad,
    /// Allocates a sized buffer or tensor.
    Alloc,
    /// One request to a server or database.
    RoundTrip,
    /// Copies a device value to the host, waiting for the GPU.
    GpuSync,
    /// A pure computation worth doing once for a constant input.
    CostlyPure,
    /// A growable collection type.
    Collection,
    /// A collection type that bounds or evicts by itself.
    BoundedCollection,
    /// A type (or copy function) whose clone copies all its data.
    Buffer,
    /// A type that reads and writes memory, not files or sockets (`Vec<u8>`, `Cursor`,
    /// `BytesMut`'s writer): `write_all` on it blocks nothing, whatever the method-name
    /// entries say of unknown receivers.
    InMemory,
    /// Known only for what it returns.
    None,
}

impl Kind {
    /// Kinds that block the calling thread.
    pub fn is_blocking(self) -> bool {
        matches!(
            self,
            Kind::BlockingIo | Kind::BlockingSleep | Kind::BlockingWait | Kind::CpuHeavy
        )
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum When {
    #[default]
    Any,
    NotAwaited,
    Awaited,
    /// Only a call inside a loop: work cheap once and costly round after round (a fast
    /// hash, fed a stream chunk by chunk).
    InLoop,
}

impl When {
    /// Whether an entry applies to a call, awaited (directly or through a timeout or
    /// combinator) or not, inside a loop or not.
    pub fn holds(self, awaited: bool, in_loop: bool) -> bool {
        match self {
            When::Any => true,
            When::NotAwaited => !awaited,
            When::Awaited => awaited,
            When::InLoop => in_loop,
        }
    }
}

/// One catalogue fact about an API.
#[derive(Clone, Debug, PartialEq)]
pub struct Api {
    /// `std::fs::read`, `time.sleep`, or `.join()` for method entries.
    pub name: String,
    pub kind: Kind,
    pub note: Option<String>,
    pub instead: Option<String>,
    pub returns: Option<Path>,
    /// Matched by method name only, without knowing the receiver's type.
    pub by_name: bool,
    pub args: Option<u32>,
    pub max_args: Option<u32>,
    pub when: When,
    /// The call's cost grows with its input: given only literals shorter than this many
    /// bytes in all (`serde_json::from_str("null")`), it costs next to nothing.
    pub min_literal: Option<u32>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileSchema {
    #[serde(default)]
    api: Vec<ApiSchema>,
    #[serde(default)]
    method: Vec<MethodSchema>,
}

/// `[[api]]`: one or more full paths.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiSchema {
    pub paths: Vec<String>,
    pub kind: Kind,
    #[serde(default)]
    pub note: Option<String>,
    #[serde(default)]
    pub instead: Option<String>,
    #[serde(default)]
    pub returns: Option<String>,
    /// `in-loop` narrows the entry to calls inside a loop; `awaited`/`not-awaited` to
    /// calls awaited or not.
    #[serde(default)]
    pub when: When,
    /// Paths a namespace wildcard (`torch.*`) leaves out, each with everything under it:
    /// `torch.cuda.is_available` asks a question and launches no GPU work.
    #[serde(default)]
    pub except: Vec<String>,
    /// See [`Api::min_literal`].
    #[serde(default)]
    pub min_literal: Option<u32>,
}

/// `[[method]]`: method names matched whatever the receiver.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MethodSchema {
    pub names: Vec<String>,
    pub kind: Kind,
    #[serde(default)]
    pub args: Option<u32>,
    #[serde(default)]
    pub max_args: Option<u32>,
    #[serde(default)]
    pub when: When,
    #[serde(default)]
    pub note: Option<String>,
    #[serde(default)]
    pub instead: Option<String>,
    #[serde(default)]
    pub returns: Option<String>,
}

#[derive(Clone, Debug, Default)]
struct LangCatalog {
    apis: Vec<Api>,
    by_path: FxHashMap<String, Vec<u32>>,
    /// `torch.*` entries: (prefix key, api index, keys of the paths left out).
    prefixes: Vec<(String, u32, Vec<String>)>,
    by_method: FxHashMap<String, Vec<u32>>,
}

#[derive(Clone, Debug, Default)]
pub struct Catalog {
    rust: LangCatalog,
    python: LangCatalog,
}

const RUST: &str = include_str!("../catalog/rust.toml");
const PYTHON: &str = include_str!("../catalog/python.toml");

fn key(path: &[Name]) -> String {
    path.join("::")
}

impl Catalog {
    /// The catalogue bundled with perfgate.
    pub fn bundled() -> Catalog {
        let mut c = Catalog::default();
        c.extend_toml(Language::Rust, RUST)
            .expect("bundled rust catalogue is valid");
        c.extend_toml(Language::Python, PYTHON)
            .expect("bundled python catalogue is valid");
        c
    }

    fn lang_mut(&mut self, lang: Language) -> &mut LangCatalog {
        match lang {
            Language::Rust => &mut self.rust,
            Language::Python => &mut self.python,
        }
    }

    fn lang(&self, lang: Language) -> &LangCatalog {
        match lang {
            Language::Rust => &self.rust,
            Language::Python => &self.python,
        }
    }

    /// Add the entries of a catalogue file (the bundled schema).
    pub fn extend_toml(&mut self, lang: Language, text: &str) -> Result<(), toml::de::Error> {
        let file: FileSchema = toml::from_str(text)?;
        for a in file.api {
            self.add_api(lang, a);
        }
        for m in file.method {
            self.add_method(lang, m);
        }
        Ok(())
    }

    pub fn add_api(&mut self, lang: Language, a: ApiSchema) {
        let cat = self.lang_mut(lang);
        for p in &a.paths {
            let idx = cat.apis.len() as u32;
            let segs = split_path(p.trim_end_matches(".*").trim_end_matches("::*"));
            cat.apis.push(Api {
                name: p.clone(),
                kind: a.kind,
                note: a.note.clone(),
                instead: a.instead.clone(),
                returns: a.returns.as_deref().map(split_path),
                by_name: false,
                args: None,
                max_args: None,
                when: a.when,
                min_literal: a.min_literal,
            });
            if p.ends_with(".*") || p.ends_with("::*") {
                let except = a.except.iter().map(|e| key(&split_path(e))).collect();
                cat.prefixes.push((key(&segs), idx, except));
            } else {
                cat.by_path.entry(key(&segs)).or_default().push(idx);
            }
        }
    }

    pub fn add_method(&mut self, lang: Language, m: MethodSchema) {
        let cat = self.lang_mut(lang);
        for n in &m.names {
            let idx = cat.apis.len() as u32;
            cat.apis.push(Api {
                name: format!(".{n}()"),
                kind: m.kind,
                note: m.note.clone(),
                instead: m.instead.clone(),
                returns: m.returns.as_deref().map(split_path),
                by_name: true,
                args: m.args,
                max_args: m.max_args,
                when: m.when,
                min_literal: None,
            });
            cat.by_method.entry(n.clone()).or_default().push(idx);
        }
    }

    /// Entries for a fully resolved path (exact entries first, then namespace wildcards).
    pub fn by_path<'a>(
        &'a self,
        lang: Language,
        path: &[Name],
    ) -> impl Iterator<Item = &'a Api> + 'a {
        let cat = self.lang(lang);
        let k = key(path);
        let exact = cat.by_path.get(&k).into_iter().flatten();
        let under = |k: &str, p: &str| k.starts_with(p) && k[p.len()..].starts_with("::");
        let prefix = cat.prefixes.iter().filter_map(move |(p, i, except)| {
            let left_out = || except.iter().any(|e| k == *e || under(&k, e));
            (under(&k, p) && !left_out()).then_some(*i)
        });
        exact
            .copied()
            .chain(prefix.collect::<Vec<_>>())
            .map(move |i| &cat.apis[i as usize])
    }

    /// Method-name entries that fit a call with `n_args` arguments, awaited or not.
    pub fn by_method<'a>(
        &'a self,
        lang: Language,
        name: &str,
        n_args: u32,
        awaited: bool,
    ) -> impl Iterator<Item = &'a Api> + 'a {
        let cat = self.lang(lang);
        cat.by_method
            .get(name)
            .into_iter()
            .flatten()
            .map(move |i| &cat.apis[*i as usize])
            .filter(move |a| {
                a.args.is_none_or(|n| n == n_args)
                    && a.max_args.is_none_or(|n| n_args <= n)
                    // Whether the call is in a loop is known at the call site only: the
                    // analysis narrows it there.
                    && a.when.holds(awaited, true)
            })
    }

    /// The type a path call returns, if the catalogue knows it.
    pub fn returns(&self, lang: Language, path: &[Name]) -> Option<&[Name]> {
        self.by_path(lang, path).find_map(|a| a.returns.as_deref())
    }

    /// Does a type path name something of this kind (`threading.Lock` is a blocking lock)?
    pub fn type_is(&self, lang: Language, path: &[Name], kind: Kind) -> bool {
        self.by_path(lang, path).any(|a| a.kind == kind)
    }

    /// Every entry, for `perfgate rules` style listings and tests.
    pub fn len(&self, lang: Language) -> usize {
        self.lang(lang).apis.len()
    }

    pub fn is_empty(&self, lang: Language) -> bool {
        self.len(lang) == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Path {
        split_path(s)
    }

    /// A blocking rule's fix reads "use <instead> instead of `call`": an order there
    /// ("await the coroutine") makes a sentence no one wrote.
    #[test]
    fn blocking_alternatives_are_things_to_use() {
        let c = Catalog::bundled();
        for lang in [Language::Rust, Language::Python] {
            for a in &c.lang(lang).apis {
                let Some(instead) = a.instead.as_deref() else {
                    continue;
                };
                let first = instead.split_whitespace().next().unwrap_or("");
                assert!(
                    !(a.kind.is_blocking()
                        && ["await", "use", "run", "move", "call", "hash", "compute", "keep"]
                            .contains(&first)),
                    "{}: `instead` reads as an order: {instead}",
                    a.name
                );
            }
        }
    }

    #[test]
    fn bundled_catalogue_loads_and_answers() {
        let c = Catalog::bundled();
        assert!(c.len(Language::Rust) > 50 && c.len(Language::Python) > 50);
        let read: Vec<_> = c.by_path(Language::Rust, &p("std::fs::read")).collect();
        assert_eq!(read[0].kind, Kind::BlockingIo);
        assert!(c
            .by_path(Language::Python, &p("time.sleep"))
            .any(|a| a.kind == Kind::BlockingSleep));
        assert!(c
            .by_path(Language::Python, &p("torch.cuda.synchronize"))
            .any(|a| a.kind == Kind::Gpu));
        assert!(c
            .by_path(Language::Python, &p("torch.cuda.synchronize"))
            .any(|a| a.kind == Kind::GpuCleanup));
        assert!(!c
            .by_path(Language::Python, &p("torch.cuda.is_available"))
            .any(|a| a.kind == Kind::Gpu));
        assert!(!c
            .by_path(Language::Python, &p("torch.backends.cudnn.is_available"))
            .any(|a| a.kind == Kind::Gpu));
        assert!(c
            .by_path(Language::Python, &p("torchvision.io"))
            .next()
            .is_none());
        assert_eq!(
            c.returns(Language::Rust, &p("reqwest::Client::get")),
            Some(&p("reqwest::RequestBuilder")[..])
        );
        assert_eq!(c.by_method(Language::Rust, "join", 0, false).count(), 1);
        assert_eq!(c.by_method(Language::Rust, "join", 1, false).count(), 0);
        assert_eq!(c.by_method(Language::Rust, "join", 0, true).count(), 0);
    }

    #[test]
    fn user_entries_extend_and_bad_ones_are_rejected() {
        let mut c = Catalog::bundled();
        c.extend_toml(
            Language::Python,
            "[[api]]\npaths = [\"mylib.fetch_all\"]\nkind = \"blocking-io\"\n",
        )
        .unwrap();
        assert!(c
            .by_path(Language::Python, &p("mylib.fetch_all"))
            .next()
            .is_some());
        assert!(c
            .extend_toml(
                Language::Python,
                "[[api]]\npaths = [\"x\"]\nkind = \"nope\"\n"
            )
            .is_err());
    }
}
