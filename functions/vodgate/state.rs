//! Where the tool keeps its dev state: the dev keys and the default SQLite files.
//!
//! Every command must find the same state as the server it talks to, wherever it is run from:
//! state found only in the working directory made a run from a subdirectory mint keys of its own,
//! tokens the running server refused and an empty `vodgate events`, without a word. So the
//! directory is, in order: `--state-dir`, `VODGATE_HOME`, the nearest `.vodgate/` in the working
//! directory or one of its ancestors (a project keeps its state beside it), else
//! `$XDG_STATE_HOME/vodgate` (by default `~/.local/state/vodgate`), created on first use. Commands
//! that fail because a server holds other keys name the directory they used.

use std::fmt;
use std::path::{Path, PathBuf};

use vodgate::platform::config::Env;

use crate::failure::Failure;

/// The name of a project's state directory, looked for in the working directory and upwards.
pub const PROJECT_DIR: &str = ".vodgate";

/// What `vodgate --help` says about the state directory.
pub const HELP: &str = "\
State directory, holding the dev keys (dev-keys.json) and the local store (events.sqlite): the one
  given by --state-dir DIR, else VODGATE_HOME, else the nearest .vodgate/ in the current directory
  or its ancestors, else $XDG_STATE_HOME/vodgate (default ~/.local/state/vodgate), created there on
  first use. Commands that create new keys say where.";

/// Why the state directory is where it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Origin {
    Flag,
    Env,
    Project,
    User,
}

/// The state directory a command uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateDir {
    path: PathBuf,
    origin: Origin,
}

impl StateDir {
    /// The state directory for `flag` (`--state-dir`), `env` and the working directory `cwd`,
    /// by the rule in the module docs. Nothing is created here.
    pub fn resolve(flag: Option<&Path>, env: &Env, cwd: &Path) -> Result<Self, Failure> {
        let at = |path: &Path, origin| Self {
            path: cwd.join(path),
            origin,
        };
        if let Some(flag) = flag {
            return Ok(at(flag, Origin::Flag));
        }
        if let Some(home) = env.non_empty("VODGATE_HOME") {
            return Ok(at(Path::new(home), Origin::Env));
        }
        if let Some(found) = cwd
            .ancestors()
            .map(|dir| dir.join(PROJECT_DIR))
            .find(|dir| dir.is_dir())
        {
            return Ok(at(&found, Origin::Project));
        }
        let xdg = env
            .non_empty("XDG_STATE_HOME")
            .map(PathBuf::from)
            .filter(|dir| dir.is_absolute());
        let base = match (xdg, env.non_empty("HOME")) {
            (Some(xdg), _) => xdg,
            (None, Some(home)) => Path::new(home).join(".local/state"),
            (None, None) => {
                return Err(Failure::new(
                    "no state directory: no --state-dir, VODGATE_HOME, .vodgate/ here or above, \
                     XDG_STATE_HOME or HOME",
                )
                .hint("give --state-dir DIR or export VODGATE_HOME=DIR"));
            }
        };
        Ok(at(&base.join("vodgate"), Origin::User))
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// `sqlite:<dir>/events.sqlite`: where events and uploads go by default.
    pub fn sqlite_store(&self) -> String {
        format!("sqlite:{}", self.path.join("events.sqlite").display())
    }
}

impl fmt::Display for StateDir {
    /// The path and why: "/home/me/app/.vodgate (found from the current directory)".
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let why = match self.origin {
            Origin::Flag => "from --state-dir",
            Origin::Env => "from VODGATE_HOME",
            Origin::Project => "found from the current directory",
            Origin::User => "the user's state directory",
        };
        write!(f, "{} ({why})", self.path.display())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flag_then_env_then_nearest_project_dir_then_xdg_then_home() {
        let root = tempfile::tempdir().unwrap();
        let project = root.path().join("app");
        let deep = project.join("src/deeper");
        std::fs::create_dir_all(&deep).unwrap();
        let env = Env::from_pairs([("HOME", "/home/me"), ("VODGATE_HOME", "rel")]);
        let flag = StateDir::resolve(Some(Path::new("/x")), &env, &deep).unwrap();
        assert_eq!((flag.path(), flag.origin), (Path::new("/x"), Origin::Flag));
        let from_env = StateDir::resolve(None, &env, &deep).unwrap();
        assert_eq!(
            (from_env.path(), from_env.origin),
            (deep.join("rel").as_path(), Origin::Env)
        );

        let home_only = Env::from_pairs([("HOME", "/home/me")]);
        let user = StateDir::resolve(None, &home_only, &deep).unwrap();
        assert_eq!(user.path(), Path::new("/home/me/.local/state/vodgate"));
        assert_eq!(user.origin, Origin::User);
        let xdg = Env::from_pairs([("HOME", "/home/me"), ("XDG_STATE_HOME", "/state")]);
        let user = StateDir::resolve(None, &xdg, &deep).unwrap();
        assert_eq!(user.path(), Path::new("/state/vodgate"));
        // A relative XDG_STATE_HOME is invalid by the XDG rules and ignored.
        let relative = Env::from_pairs([("HOME", "/home/me"), ("XDG_STATE_HOME", "state")]);
        let user = StateDir::resolve(None, &relative, &deep).unwrap();
        assert_eq!(user.path(), Path::new("/home/me/.local/state/vodgate"));

        std::fs::create_dir(project.join(PROJECT_DIR)).unwrap();
        let found = StateDir::resolve(None, &home_only, &deep).unwrap();
        assert_eq!(
            (found.path(), found.origin),
            (project.join(PROJECT_DIR).as_path(), Origin::Project)
        );
        assert!(
            found
                .to_string()
                .contains("found from the current directory")
        );

        let nothing = StateDir::resolve(None, &Env::default(), root.path()).unwrap_err();
        assert!(nothing.to_string().contains("no state directory"));
    }
}
