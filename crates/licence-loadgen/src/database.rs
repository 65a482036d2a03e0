//! The platform's data under test: where it lives ([`Database`], SQLite or PostgreSQL), the
//! made-up drivers seeded into it, the photo they send, and changes to their licences that
//! the registry makes behind the platform's back.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use licence_core::{
    DrivingLicence, FaceSignChannel, IdNumber, LicenceRecord, PersonName, Points, UserKind,
};
use licence_server::store::{
    NewAccount, PostgresStore, RegistryEntry, Session, SqliteStore, Store,
};

/// Where a platform under test keeps its data: a SQLite file, or a PostgreSQL database (with
/// the file's path still naming where the server makes its key files and its log).
#[derive(Debug, Clone)]
pub struct Database {
    /// The SQLite file; with PostgreSQL, the base name of the key files and the log.
    pub path: PathBuf,
    /// The PostgreSQL database's URL, when the data is there.
    pub postgres: Option<String>,
}

impl Database {
    pub fn sqlite(path: &Path) -> Database {
        Database {
            path: path.to_path_buf(),
            postgres: None,
        }
    }

    /// A new database named `name` on the PostgreSQL server at `server_url` (no database
    /// in it), with key files and the log beside `path`.
    pub fn new_postgres(path: &Path, server_url: &str, name: &str) -> anyhow::Result<Database> {
        Ok(Database {
            path: path.to_path_buf(),
            postgres: Some(PostgresStore::create_database(server_url, name)?),
        })
    }

    /// For a test: a new PostgreSQL database in the test cluster named by
    /// `LICENCE_TEST_POSTGRES` when there is one (`cargo xtask test postgres`), else the
    /// SQLite file `path`.
    pub fn for_test(path: &Path) -> anyhow::Result<Database> {
        match std::env::var("LICENCE_TEST_POSTGRES") {
            Ok(server) => {
                let name = format!("loadgen_{}_{}", std::process::id(), rand::random::<u32>());
                Database::new_postgres(path, &server, &name)
            }
            Err(_) => Ok(Database::sqlite(path)),
        }
    }

    /// The store, as the platform opens it.
    pub fn open(&self) -> anyhow::Result<Arc<dyn Store>> {
        Ok(match &self.postgres {
            Some(url) => Arc::new(PostgresStore::connect(url)?),
            None => Arc::new(SqliteStore::open(&self.path)?),
        })
    }

    /// The global arguments of `licence-server` that name this store.
    pub fn server_args(&self) -> Vec<std::ffi::OsString> {
        let mut args = vec!["--db".into(), self.path.clone().into_os_string()];
        if let Some(url) = &self.postgres {
            args.extend(["--store".into(), url.into()]);
        }
        args
    }

    /// Where the server's log goes: beside the database file, with the extension `log`.
    pub fn log_path(&self) -> PathBuf {
        self.path.with_extension("log")
    }
}

/// A seeded driver: their account and a session token for it.
#[derive(Debug, Clone)]
pub struct Driver {
    pub account: i64,
    pub token: String,
}

const SURNAMES: [&str; 12] = [
    "王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙",
];
const GIVEN: [&str; 12] = [
    "伟", "芳", "娜", "敏", "静", "磊", "洋", "勇", "艳", "杰", "军", "涛",
];

/// Made-up driver `i`: a valid ID number, a C1 licence in good standing, a reserved number.
pub fn synthetic_person(i: usize) -> anyhow::Result<RegistryEntry> {
    let birth = time::macros::date!(1965 - 01 - 01) + time::Duration::days((i / 1000) as i64);
    let id_number = IdNumber::from_parts("110105", birth, (i % 1000) as u16)?;
    let name: PersonName = format!(
        "{}{}{}",
        SURNAMES[i % 12],
        GIVEN[(i / 12) % 12],
        GIVEN[(i / 144) % 12]
    )
    .parse()?;
    let licence = DrivingLicence::new(LicenceRecord {
        number: id_number,
        name: name.clone(),
        nationality: "中国".into(),
        address: format!("北京市朝阳区压测路{}号", i + 1),
        first_issued: time::macros::date!(2005 - 03 - 01),
        classes: "C1".parse()?,
        validity: "2021-05-05至2031-05-05".parse()?,
        points: Points::new(0)?,
        status: "A".parse()?,
        issuing_authority: "北京市公安局公安交通管理局".into(),
        file_number: format!("1101{:08}", i).parse()?,
    })?;
    Ok(RegistryEntry {
        id_number,
        name,
        reserved_mobile: format!("139{:08}", i).parse()?,
        photo: None,
        licence: Some(licence),
    })
}

/// Creates the database at `db` with `count` drivers who may apply (face-signed, holding a
/// licence), each signed in. Returns them in account order.
pub fn seed(db: &Database, count: usize) -> anyhow::Result<Vec<Driver>> {
    // One hash for everyone: nobody signs in with it, and argon2 per driver would take minutes.
    let password_hash = licence_server::security::hash_password("load-test-password-1")
        .map_err(|e| anyhow::anyhow!("hashing: {}", e.body.message_en))?;
    let mut drivers = match &db.postgres {
        None => {
            let store = SqliteStore::open_for_bulk_load(&db.path)?;
            let drivers = seed_range(&store, 0..count, &password_hash)?;
            store.flush()?;
            drivers
        }
        Some(url) => {
            // Each driver is a few round trips: several connections load at once.
            let store = PostgresStore::connect_for_bulk_load(url)?;
            let threads = 8;
            let chunk = count.div_ceil(threads).max(1);
            std::thread::scope(|scope| {
                let loads: Vec<_> = (0..count)
                    .step_by(chunk)
                    .map(|from| {
                        let (store, hash) = (&store, &password_hash);
                        scope
                            .spawn(move || seed_range(store, from..(from + chunk).min(count), hash))
                    })
                    .collect();
                loads
                    .into_iter()
                    .map(|l| l.join().expect("a seeding thread panicked"))
                    .collect::<anyhow::Result<Vec<_>>>()
            })?
            .concat()
        }
    };
    drivers.sort_by_key(|d| d.account);
    Ok(drivers)
}

/// Seeds made-up drivers `range` into `store`.
fn seed_range(
    store: &dyn Store,
    range: std::ops::Range<usize>,
    password_hash: &str,
) -> anyhow::Result<Vec<Driver>> {
    let now = licence_server::now();
    let mut drivers = Vec::with_capacity(range.len());
    for i in range {
        let entry = synthetic_person(i)?;
        store.put_registry_entry(&entry)?;
        let account = store.create_account(&NewAccount {
            kind: UserKind::FaceSigned {
                via: FaceSignChannel::Counter,
            },
            id_number: Some(entry.id_number),
            unit_code: None,
            name: entry.name.as_str().to_owned(),
            mobile: entry.reserved_mobile,
            password_hash: password_hash.to_owned(),
            created_at: now,
        })?;
        let (token, digest) = licence_server::security::new_token();
        store.put_session(
            &digest,
            &Session {
                account,
                created_at: now,
                expires_at: now + 24 * 3600,
            },
        )?;
        drivers.push(Driver { account, token });
    }
    Ok(drivers)
}

/// A portrait-sized JPEG of about 20 KB (358×441, a head-and-shoulders shape on white with
/// sensor-like noise), the size of photo a phone app sends after its own crop.
pub fn sample_photo() -> Vec<u8> {
    let (w, h) = (358u32, 441u32);
    let mut state = 0x2545_F491_4F6C_DD1Du64;
    let img = image::RgbImage::from_fn(w, h, |x, y| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let noise = (state % 15) as i32 - 7;
        let (fx, fy) = (x as f64 - 179.0, y as f64 - 190.0);
        let head = (fx / 95.0).powi(2) + (fy / 125.0).powi(2) <= 1.0;
        let shoulders = y > 330 && (fx.abs() < 60.0 + (y as f64 - 330.0) * 1.6);
        let base: [i32; 3] = if head {
            [224, 182, 150]
        } else if shoulders {
            [40, 52, 80]
        } else {
            [248, 248, 246]
        };
        image::Rgb(base.map(|c| (c + noise).clamp(0, 255) as u8))
    });
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 80)
        .encode_image(&img)
        .expect("encoding to memory");
    out
}

/// The registry's own systems change made-up person `i`'s licence record in the platform's
/// database at `db` (12 points, a revocation …), as tests of the status list need.
pub fn update_licence(
    db: &Database,
    i: usize,
    change: impl FnOnce(&mut LicenceRecord),
) -> anyhow::Result<()> {
    let mut entry = synthetic_person(i)?;
    let mut record: LicenceRecord = entry
        .licence
        .take()
        .context("a synthetic person holds a licence")?
        .into();
    change(&mut record);
    entry.licence = Some(DrivingLicence::new(record)?);
    db.open()?.put_registry_entry(&entry)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sample_photo_is_a_portrait_jpeg_of_about_20_kb() {
        let photo = sample_photo();
        assert!(photo.starts_with(&[0xFF, 0xD8]));
        assert!(
            (15_000..=26_000).contains(&photo.len()),
            "{} bytes",
            photo.len()
        );
        let decoded = image::load_from_memory(&photo).unwrap();
        assert_eq!((decoded.width(), decoded.height()), (358, 441));
    }

    #[test]
    fn synthetic_people_are_valid_and_distinct() {
        let a = synthetic_person(0).unwrap();
        let b = synthetic_person(40_001).unwrap();
        assert_ne!(a.id_number, b.id_number);
        assert_ne!(a.reserved_mobile, b.reserved_mobile);
        assert_eq!(a.licence.unwrap().record().status, "A".parse().unwrap());
    }
}
