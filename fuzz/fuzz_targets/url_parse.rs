//! Database URLs from anywhere (a config file, an environment variable) never panic the
//! parsers: `plinth_sqlx::ConnectOptions::new` and `plinth_browser::connect` either
//! accept the URL or refuse it with `Error::InvalidUrl`, whose message never shows the
//! password of the URL's `user:password@` part.
#![no_main]

use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use libfuzzer_sys::fuzz_target;
use plinth::Error;

fuzz_target!(|data: &[u8]| {
    let Ok(url) = std::str::from_utf8(data) else { return };

    match plinth_sqlx::ConnectOptions::new(url) {
        Ok(options) => assert!(options.pool_size() >= 1, "{url:?} gave an empty pool"),
        Err(Error::InvalidUrl { url: shown, reason }) => {
            if let Some(secret) = password(url).filter(|p| !p.is_empty() && *p != "***") {
                assert!(password(&shown).is_none_or(|p| p == "***"), "{url:?} shown with its password: {shown:?}");
                // Text elsewhere in the URL that repeats the password may be quoted.
                let userinfo = format!(":{secret}@");
                if url.matches(&userinfo).count() == 1 {
                    assert!(!reason.contains(&userinfo), "{url:?} leaked its password in {reason:?}");
                }
            }
        }
        Err(other) => panic!("{url:?}: not InvalidUrl but {other:?}"),
    }

    // Outside wasm32 a well-formed browser URL is `Unsupported`; only the parsing runs.
    let mut connecting = pin!(plinth_browser::connect(url));
    let Poll::Ready(result) = connecting.as_mut().poll(&mut Context::from_waker(Waker::noop())) else {
        panic!("{url:?}: connect waited natively")
    };
    match result {
        Err(Error::InvalidUrl { .. } | Error::Unsupported { .. }) => {}
        Ok(_) => panic!("{url:?}: a browser database opened natively"),
        Err(other) => panic!("{url:?}: not InvalidUrl but {other:?}"),
    }
});

/// The password of `scheme://user:password@host…`, as a URL parser finds it.
fn password(url: &str) -> Option<&str> {
    let (scheme, rest) = url.split_once("://")?;
    let mut letters = scheme.chars();
    let is_scheme = letters.next().is_some_and(|c| c.is_ascii_alphabetic())
        && letters.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    if !is_scheme {
        return None;
    }
    let authority = &rest[..rest.find(['/', '?', '#']).unwrap_or(rest.len())];
    let userinfo = &authority[..authority.rfind('@')?];
    userinfo.split_once(':').map(|(_, password)| password)
}
