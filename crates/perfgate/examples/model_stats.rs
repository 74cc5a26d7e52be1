use perfgate_check::{parse_source, Parsed};
#[path = "common/sources.rs"]
mod sources;
fn main() {
    let dir = std::env::args().nth(1).unwrap();
    let srcs = sources::read(&dir);
    let bytes: usize = srcs.iter().map(|s| s.1.len()).sum();
    let (
        mut funcs,
        mut calls,
        mut paths,
        mut path_segs,
        mut heap_names,
        mut loops,
        mut awaits,
        mut locks,
        mut blocks,
        mut locals,
        mut params,
        mut handlers,
        mut extra,
    ) = (0usize, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0);
    let (mut methods, mut recv_local, mut recv_field, mut recv_path) = (0usize, 0, 0, 0);
    for (p, s) in srcs {
        if let Parsed::Ok { file, .. } = parse_source(&p, s) {
            for f in &file.module.functions {
                funcs += 1;
                calls += f.calls.len();
                loops += f.loops.len();
                awaits += f.awaits.len();
                locks += f.locks.len();
                blocks += f.blocks.len();
                locals += f.locals.len();
                params += f.params.len();
                handlers += f.handlers.len();
                extra += f.extra.is_some() as usize;
                for c in &f.calls {
                    match &c.callee {
                        perfgate_model::Callee::Path(p) => {
                            paths += 1;
                            path_segs += p.len();
                            heap_names += p.iter().filter(|n| n.is_heap_allocated()).count();
                        }
                        perfgate_model::Callee::Method { recv, name } => {
                            methods += 1;
                            heap_names += name.is_heap_allocated() as usize;
                            match recv {
                                perfgate_model::Receiver::Local(_) => recv_local += 1,
                                perfgate_model::Receiver::SelfField(_) => recv_field += 1,
                                perfgate_model::Receiver::Path(_) => recv_path += 1,
                                _ => {}
                            }
                        }
                        _ => {}
                    }
                }
            }
        }
    }
    println!("source {bytes} B; functions {funcs} calls {calls} (path {paths}, {path_segs} segs; method {methods}: local {recv_local} field {recv_field} path {recv_path}) heap names {heap_names}");
    println!("loops {loops} awaits {awaits} locks {locks} blocks {blocks} locals {locals} params {params} handlers {handlers} extra {extra}");
    println!("bytes: functions {} calls {} loops {} awaits {} locks {} blocks {} bindings {} pathsegs {}", funcs*176, calls*96, loops*136, awaits*56, locks*120, blocks*32, (locals+params)*64, path_segs*24 + paths*16);
}
