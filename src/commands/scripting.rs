//! Scripting commands: EVAL, EVALSHA, EVAL_RO, EVALSHA_RO, SCRIPT. The Lua runtime itself is the
//! `scripting` front door (`src/scripting`); these handlers parse and hand over.

use crate::cmd::args::eq_kw;
use crate::cmd::{flags::*, Args, CommandSpec, Ctx};
use crate::command;
use crate::error::{CmdError, CmdResult};
use crate::reply::Reply;
use crate::scripting::{self, Source};

/// This group's part of the command table.
pub const COMMANDS: &[CommandSpec] = &[
    command!("eval", -3, NOSCRIPT | MOVABLE_KEYS, 0, 0, 0, eval),
    command!("evalsha", -3, NOSCRIPT | MOVABLE_KEYS, 0, 0, 0, evalsha),
    command!(
        "eval_ro",
        -3,
        NOSCRIPT | READONLY | MOVABLE_KEYS,
        0,
        0,
        0,
        eval_ro
    ),
    command!(
        "evalsha_ro",
        -3,
        NOSCRIPT | READONLY | MOVABLE_KEYS,
        0,
        0,
        0,
        evalsha_ro
    ),
    command!("script", -2, NOSCRIPT, 0, 0, 0, script),
];

/// `EVAL script numkeys [key [key ...]] [arg [arg ...]]`
fn eval(ctx: &mut Ctx, args: Args) -> CmdResult {
    scripting::eval_command(ctx, args, Source::Body, false)
}

/// `EVALSHA sha1 numkeys [key [key ...]] [arg [arg ...]]`
fn evalsha(ctx: &mut Ctx, args: Args) -> CmdResult {
    scripting::eval_command(ctx, args, Source::Sha, false)
}

/// `EVAL_RO script numkeys [key [key ...]] [arg [arg ...]]`
fn eval_ro(ctx: &mut Ctx, args: Args) -> CmdResult {
    scripting::eval_command(ctx, args, Source::Body, true)
}

/// `EVALSHA_RO sha1 numkeys [key [key ...]] [arg [arg ...]]`
fn evalsha_ro(ctx: &mut Ctx, args: Args) -> CmdResult {
    scripting::eval_command(ctx, args, Source::Sha, true)
}

const HELP: &[&str] = &[
    "SCRIPT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "DEBUG (YES|SYNC|NO)",
    "    Set the debug mode for subsequent scripts executed.",
    "EXISTS <sha1> [<sha1> ...]",
    "    Return information about the existence of the scripts in the script cache.",
    "FLUSH [ASYNC|SYNC]",
    "    Flush the Lua scripts cache. Very dangerous on replicas.",
    "    When called without the optional mode argument, the behavior is determined by the",
    "    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
    "    * ASYNC: Asynchronously flush the scripts cache.",
    "    * SYNC: Synchronously flush the scripts cache.",
    "KILL",
    "    Kill the currently executing Lua script.",
    "LOAD <script>",
    "    Load a script into the scripts cache without executing it.",
    "HELP",
    "    Prints this help.",
];

/// `SCRIPT LOAD script | EXISTS sha1 [sha1 ...] | FLUSH [ASYNC|SYNC] | KILL | HELP`
fn script(ctx: &mut Ctx, mut args: Args) -> CmdResult {
    let sub = args.next_bytes()?;
    let rest = args.rest();
    let lower = String::from_utf8_lossy(&sub).to_lowercase();
    let arity = |ok: bool| {
        if ok {
            Ok(())
        } else {
            Err(CmdError::WrongArity(format!("script|{lower}")))
        }
    };
    match lower.as_str() {
        "load" => {
            arity(rest.len() == 1)?;
            scripting::script_load(ctx, &rest[0])
        }
        "exists" => {
            arity(!rest.is_empty())?;
            scripting::script_exists(ctx, &rest)
        }
        "flush" => {
            if rest.len() > 1 {
                return Err(CmdError::err("SCRIPT FLUSH only support SYNC|ASYNC option"));
            }
            scripting::script_flush(ctx, rest.first().map(|m| m.as_slice()))
        }
        "kill" => {
            arity(rest.is_empty())?;
            // Scripts run under the engine lock: when this handler runs, none is running. A kill
            // sent while one runs is answered without the lock (`Engine::busy_reply`).
            Err(CmdError::raw("NOTBUSY No scripts in execution right now."))
        }
        "debug" => {
            arity(rest.len() == 1)?;
            let m = &rest[0];
            if eq_kw(m, "NO") {
                Ok(Reply::ok())
            } else if eq_kw(m, "YES") || eq_kw(m, "SYNC") {
                Err(CmdError::err(
                    "SCRIPT DEBUG is not supported by this server",
                ))
            } else {
                Err(CmdError::err("Use SCRIPT DEBUG YES/SYNC/NO"))
            }
        }
        "help" => {
            arity(rest.is_empty())?;
            Ok(Reply::Array(
                HELP.iter().map(|s| Reply::Status((*s).into())).collect(),
            ))
        }
        _ => Err(CmdError::UnknownSubcommand {
            cmd: "script".into(),
            sub: String::from_utf8_lossy(&sub).into_owned(),
        }),
    }
}
