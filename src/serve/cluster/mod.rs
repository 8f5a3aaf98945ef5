//! `serve --redis`: one room lives on one node; Redis holds who is alive and which node owns
//! which room. `model.rs` is the pure part (key names, the node record, placement choices);
//! `node.rs` (this node's membership), `placement.rs` and `registry.rs` are the only code that
//! talks to Redis.

pub mod model;

runtime_modules!(node, placement, registry);

#[cfg(feature = "runtime")]
pub use node::*;
