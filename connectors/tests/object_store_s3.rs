//! Reading `s3://` sources from a real S3-compatible server: moto's standalone server
//! (`python3 -m pip install "moto[server]==5.2.1"`), started here as a child process on a
//! free local port and killed when the test ends.
//!
//! Without moto the server test prints a skip notice and passes, except under CI (`CI` set),
//! where it fails. moto accepts any credentials, so wrong keys cannot be tested against it
//! (the mapping of a 403 to "access denied" is unit-tested in `object_source`).

use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use allmende_connectors::object_source::{self, Fetched};
use allmende_connectors::{Connector, Error, Format, SourceOptions};
use arrow::array::{Array, Int64Array, StringArray};
use object_store::path::Path;
use object_store::{ObjectStoreExt, PutPayload};

const KEY_ENV: &str = "ALLMENDE_TEST_S3_ACCESS_KEY";
const SECRET_ENV: &str = "ALLMENDE_TEST_S3_SECRET_KEY";
const ACCESS_KEY: &str = "testing";
/// Distinctive, so that finding it in an error text cannot be a coincidence.
const SECRET: &str = "testing-geheim-4711";
const BUCKET: &str = "allmende-opendata";
const PIP: &str = "python3 -m pip install \"moto[server]==5.2.1\"";

/// A German CSV as municipal portals publish it: Windows-1252, semicolons, thousands dots,
/// decimal commas.
const EINWOHNER_CSV: &[u8] = b"Stadtteil;Einwohner;Fl\xe4che km\xb2;Stichtag\r\n\
Innenstadt;12.345;4,2;31.12.2023\r\n\
M\xfclheim;41.287;7,9;31.12.2023\r\n\
S\xfcdstadt;1.234;0,8;31.12.2023\r\n";

/// The moto server child process; killed on drop, also when an assertion fails.
struct Moto {
    child: Child,
    endpoint: String,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Moto {
    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

fn moto_installed() -> bool {
    Command::new("python3")
        .args(["-c", "import moto.server"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Starts moto, or says why not: `None` means skip (outside CI).
fn start_moto() -> Option<Moto> {
    if !moto_installed() {
        assert!(
            std::env::var_os("CI").is_none(),
            "moto is not importable by python3; install it with {PIP}"
        );
        eprintln!("SKIPPED: moto is not installed; run {PIP} to test s3:// sources");
        return None;
    }
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("moto.log");
    let stderr = std::fs::File::create(&log).unwrap();
    let child = Command::new("python3")
        .args(["-m", "moto.server", "-H", "127.0.0.1", "-p"])
        .arg(port.to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(stderr)
        .spawn()
        .expect("python3 starts");
    let mut moto = Moto {
        child,
        endpoint: format!("http://127.0.0.1:{port}"),
        log,
        _dir: dir,
    };
    let started = Instant::now();
    loop {
        if TcpStream::connect(("127.0.0.1", port)).is_ok()
            && ureq::get(&moto.endpoint).call().is_ok()
        {
            return Some(moto);
        }
        if let Ok(Some(status)) = moto.child.try_wait() {
            panic!("moto exited with {status}:\n{}", moto.log());
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "moto did not answer within 60 s:\n{}",
            moto.log()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn env(name: &str) -> Option<String> {
    match name {
        KEY_ENV => Some(ACCESS_KEY.into()),
        SECRET_ENV => Some(SECRET.into()),
        _ => None,
    }
}

fn signed(endpoint: &str) -> SourceOptions {
    SourceOptions {
        s3_endpoint: Some(endpoint.into()),
        s3_allow_http: Some(true),
        s3_access_key_env: Some(KEY_ENV.into()),
        s3_secret_key_env: Some(SECRET_ENV.into()),
        ..SourceOptions::default()
    }
}

fn url(key: &str) -> String {
    format!("s3://{BUCKET}/{key}")
}

/// Creates the bucket (object_store has no call for that) and uploads the fixtures through
/// object_store with the same builder `fetch` uses.
fn seed(moto: &Moto) {
    let response = ureq::put(format!("{}/{BUCKET}", moto.endpoint))
        .send_empty()
        .expect("bucket created");
    assert!(response.status().is_success(), "{response:?}");
    // A public object (moto takes anonymous uploads with a canned ACL).
    let response = ureq::put(format!("{}/{BUCKET}/offen/hallo.txt", moto.endpoint))
        .header("x-amz-acl", "public-read")
        .header("content-type", "text/plain")
        .send("Moin")
        .expect("public object uploaded");
    assert!(response.status().is_success(), "{response:?}");
    let store = object_source::s3_builder(BUCKET, &signed(&moto.endpoint), &env)
        .unwrap()
        .build()
        .unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        store
            .put(
                &Path::parse("statistik/einwohner 2023.csv").unwrap(),
                PutPayload::from_static(EINWOHNER_CSV),
            )
            .await
            .unwrap();
        store
            .put(
                &Path::parse("öffentlich/hallo.txt").unwrap(),
                PutPayload::from_static(b"Servus"),
            )
            .await
            .unwrap();
    });
}

fn http_reason(result: Result<Fetched, Error>) -> String {
    match result {
        Err(Error::Http { url, reason }) => {
            assert!(url.starts_with("s3://"), "{url}");
            reason
        }
        other => panic!("expected an Http error, got {other:?}"),
    }
}

fn no_secret(text: &str) {
    assert!(!text.contains(SECRET), "the secret leaked: {text}");
}

#[test]
fn reads_objects_from_an_s3_compatible_store() {
    let Some(moto) = start_moto() else {
        return;
    };
    seed(&moto);
    let options = signed(&moto.endpoint);

    // A real German CSV, byte for byte, parsed like any other source.
    let csv_url = url("statistik/einwohner 2023.csv");
    let fetched = object_source::fetch_with_env(&csv_url, &options, &env).unwrap();
    assert_eq!(fetched.bytes, EINWOHNER_CSV);
    let etag = fetched.e_tag.clone().expect("an ETag");
    assert!(fetched.last_modified.as_deref().unwrap().ends_with(" GMT"));
    assert_eq!(fetched.validators().etag.as_deref(), Some(etag.as_str()));
    let parsed = Format::Csv.parse(&fetched.bytes, &csv_url).unwrap();
    assert!(parsed.quarantine.is_empty(), "{:?}", parsed.quarantine);
    let batch = &parsed.batch;
    let column = |name: &str| {
        batch
            .column_by_name(name)
            .unwrap_or_else(|| panic!("no column {name} in {:?}", batch.schema()))
    };
    let stadtteil = column("stadtteil")
        .as_any()
        .downcast_ref::<StringArray>()
        .unwrap();
    let einwohner = column("einwohner")
        .as_any()
        .downcast_ref::<Int64Array>()
        .unwrap();
    assert_eq!(stadtteil.value(1), "Mülheim");
    assert_eq!(einwohner.value(1), 41_287);
    assert_eq!(einwohner.len(), 3);

    // Unchanged since that ETag: nothing to read. Another ETag: read again.
    let unchanged =
        object_source::fetch_if_changed_with_env(&csv_url, &options, Some(&etag), &env).unwrap();
    assert_eq!(unchanged, None);
    let changed =
        object_source::fetch_if_changed_with_env(&csv_url, &options, Some("\"0000\""), &env)
            .unwrap()
            .expect("a different ETag reads the object");
    assert_eq!(changed.bytes, EINWOHNER_CSV);

    // A non-ASCII key, signed.
    let private = url("öffentlich/hallo.txt");
    let hallo = object_source::fetch_with_env(&private, &options, &env).unwrap();
    assert_eq!(hallo.bytes, b"Servus");

    // Unsigned requests read public objects only; a private one is "access denied".
    let anonymous = SourceOptions {
        s3_access_key_env: None,
        s3_secret_key_env: None,
        ..options.clone()
    };
    let public = object_source::fetch_with_env(&url("offen/hallo.txt"), &anonymous, &env);
    assert_eq!(public.unwrap().bytes, b"Moin");
    let denied = http_reason(object_source::fetch_with_env(&private, &anonymous, &env));
    assert!(denied.starts_with("access denied (HTTP 403)"), "{denied}");
    assert!(denied.contains("unsigned"), "{denied}");

    // What is not there.
    let missing_key = http_reason(object_source::fetch_with_env(
        &url("statistik/fehlt.csv"),
        &options,
        &env,
    ));
    assert_eq!(
        missing_key,
        "not found: no object `statistik/fehlt.csv` in bucket `allmende-opendata`"
    );
    no_secret(&missing_key);
    let missing_bucket = http_reason(object_source::fetch_with_env(
        "s3://kein-bucket/a.csv",
        &options,
        &env,
    ));
    assert_eq!(
        missing_bucket,
        "not found: the bucket `kein-bucket` does not exist"
    );
    no_secret(&missing_bucket);

    // Wrong credentials: a store that checks them answers 403 ("access denied"); moto
    // accepts any, so there the read succeeds and the assertion cannot be made.
    let wrong = |name: &str| match name {
        SECRET_ENV => Some("falsch-geheim-0815".to_string()),
        other => env(other),
    };
    match object_source::fetch_with_env(&csv_url, &options, &wrong) {
        Ok(_) => eprintln!("moto accepted a wrong secret key: no access-denied check"),
        Err(Error::Http { reason, .. }) => {
            assert!(reason.starts_with("access denied"), "{reason}");
            assert!(!reason.contains("falsch-geheim-0815"), "{reason}");
        }
        Err(other) => panic!("expected access denied, got {other}"),
    }
    no_secret(&moto.log());
}

#[test]
fn a_store_that_is_not_there() {
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .unwrap()
        .port();
    let options = signed(&format!("http://127.0.0.1:{port}"));
    let started = Instant::now();
    let reason = http_reason(object_source::fetch_with_env(&url("a.csv"), &options, &env));
    assert!(reason.starts_with("could not connect"), "{reason}");
    assert!(reason.contains("4 attempts"), "{reason}");
    no_secret(&reason);
    assert!(started.elapsed() < Duration::from_secs(60));
}

#[test]
fn configuration_errors_are_spec_errors() {
    let spec_error = |url: &str, options: &SourceOptions| match object_source::fetch_with_env(
        url, options, &env,
    ) {
        Err(Error::Spec(reason)) => {
            no_secret(&reason);
            reason
        }
        other => panic!("expected a Spec error, got {other:?}"),
    };
    let no_endpoint = spec_error(&url("a.csv"), &SourceOptions::default());
    assert!(no_endpoint.contains("needs `s3_endpoint`"), "{no_endpoint}");
    let options = signed("http://127.0.0.1:9");
    assert!(spec_error("s3://x/a.csv", &options).contains("3 to 63"));
    assert!(spec_error("https://example.org/a.csv", &options).contains("scheme must be `s3`"));
    let unset = SourceOptions {
        s3_secret_key_env: Some("ALLMENDE_TEST_UNSET".into()),
        ..options
    };
    assert!(spec_error(&url("a.csv"), &unset).contains("`ALLMENDE_TEST_UNSET`"));
    let aws = SourceOptions {
        s3_endpoint: Some("https://s3.eu-central-1.amazonaws.com".into()),
        ..SourceOptions::default()
    };
    assert!(spec_error(&url("a.csv"), &aws).contains("does not read from AWS"));
}

/// The options deserialize from a source's TOML `options` table (as JSON here).
#[test]
fn options_deserialize() {
    let options: SourceOptions = serde_json::from_str(
        r#"{"s3_endpoint": "https://minio.kommune.example:9000", "s3_region": "us-east-1",
            "s3_access_key_env": "K", "s3_secret_key_env": "S", "s3_allow_http": false,
            "s3_path_style": true}"#,
    )
    .unwrap();
    assert_eq!(options.s3_access_key_env.as_deref(), Some("K"));
    assert_eq!(options.s3_path_style, Some(true));
    assert!(serde_json::from_str::<SourceOptions>(r#"{"s3_secret": "x"}"#).is_err());
    let json = serde_json::to_string(&SourceOptions::default()).unwrap();
    assert!(!json.contains("s3_"), "{json}");
}
