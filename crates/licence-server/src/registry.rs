//! The licence registry (the police system of record): loading it from CSV with a
//! line-numbered report of rejected rows, and a realistic demo registry for development.

use std::io::Read;
use std::path::Path;

use licence_core::{
    DrivingLicence, IdNumber, LicenceRecord, MobileNumber, PersonName, Points, Problem,
};
use serde::Deserialize;
use time::Date;

use crate::store::{RegistryEntry, Store, StoreError};

/// The CSV header `licence-server import` expects. Licence columns are left empty for a
/// person who holds no licence; `photo` is a JPEG path relative to the CSV file, or empty.
pub const CSV_HEADER: &str = "id_number,name,reserved_mobile,nationality,address,first_issued,classes,validity,points,status,issuing_authority,file_number,photo";

/// Largest photo on file accepted.
const MAX_PHOTO_BYTES: u64 = 2 << 20;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Row {
    id_number: String,
    name: String,
    reserved_mobile: String,
    nationality: String,
    address: String,
    first_issued: String,
    classes: String,
    validity: String,
    points: String,
    status: String,
    issuing_authority: String,
    file_number: String,
    photo: String,
}

/// What an import did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct ImportReport {
    pub imported: usize,
    /// (line number in the file, why the row was refused).
    pub rejected: Vec<(u64, String)>,
}

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("the file is not CSV with the expected header ({CSV_HEADER}): {0}")]
    Format(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Loads every valid row; each invalid row is reported with its line and left out, so one
/// bad row never blocks the rest. A row is all or nothing.
pub fn import_csv(
    store: &dyn Store,
    input: impl Read,
    base_dir: &Path,
    today: Date,
) -> Result<ImportReport, ImportError> {
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_reader(input);
    let header = reader
        .headers()
        .map_err(|e| ImportError::Format(e.to_string()))?
        .iter()
        .collect::<Vec<_>>()
        .join(",");
    if header != CSV_HEADER {
        return Err(ImportError::Format(format!("the header is {header}")));
    }
    let mut report = ImportReport::default();
    for record in reader.records() {
        let (line, row) = match record {
            Ok(r) => (
                r.position().map_or(0, |p| p.line()),
                r.deserialize::<Row>(None),
            ),
            Err(e) => {
                let line = e.position().map_or(0, |p| p.line());
                report.rejected.push((line, format!("unreadable row: {e}")));
                continue;
            }
        };
        let entry = row
            .map_err(|e| format!("unreadable row: {e}"))
            .and_then(|row| entry_from_row(row, base_dir, today));
        match entry {
            Ok(entry) => match store.put_registry_entry(&entry) {
                Ok(()) => report.imported += 1,
                Err(StoreError::Duplicate(what)) => report
                    .rejected
                    .push((line, format!("{what}: already used by another person"))),
                Err(e) => return Err(e.into()),
            },
            Err(reason) => report.rejected.push((line, reason)),
        }
    }
    Ok(report)
}

fn field<T, E: Problem>(name: &str, parsed: Result<T, E>) -> Result<T, String> {
    parsed.map_err(|e| format!("{name}: {} ({})", e.message_zh(), e.message_en()))
}

fn entry_from_row(row: Row, base_dir: &Path, today: Date) -> Result<RegistryEntry, String> {
    let id_number = field("id_number", IdNumber::parse(&row.id_number, today))?;
    let name = field("name", row.name.parse::<PersonName>())?;
    let reserved_mobile = field(
        "reserved_mobile",
        row.reserved_mobile.parse::<MobileNumber>(),
    )?;
    let licence_columns = [
        &row.nationality,
        &row.address,
        &row.first_issued,
        &row.classes,
        &row.validity,
        &row.points,
        &row.status,
        &row.issuing_authority,
        &row.file_number,
    ];
    let licence = if licence_columns.iter().all(|c| c.is_empty()) {
        None
    } else {
        let first_issued = Date::parse(
            &row.first_issued,
            time::macros::format_description!("[year]-[month]-[day]"),
        )
        .map_err(|_| {
            format!(
                "first_issued: '{}' is not a date like 2012-06-18",
                row.first_issued
            )
        })?;
        let points: u8 = row
            .points
            .parse()
            .map_err(|_| format!("points: '{}' is not a number 0-12", row.points))?;
        let record = LicenceRecord {
            number: id_number,
            name: name.clone(),
            nationality: row.nationality,
            address: row.address,
            first_issued,
            classes: field("classes", row.classes.parse())?,
            validity: field("validity", row.validity.parse())?,
            points: field("points", Points::new(u32::from(points)))?,
            status: field("status", row.status.parse())?,
            issuing_authority: row.issuing_authority,
            file_number: field("file_number", row.file_number.parse())?,
        };
        Some(field("licence", DrivingLicence::new(record))?)
    };
    let photo = if row.photo.is_empty() {
        None
    } else {
        Some(read_photo(&base_dir.join(&row.photo))?)
    };
    Ok(RegistryEntry {
        id_number,
        name,
        reserved_mobile,
        photo,
        licence,
    })
}

fn read_photo(path: &Path) -> Result<Vec<u8>, String> {
    let meta = std::fs::metadata(path).map_err(|e| format!("photo: {}: {e}", path.display()))?;
    if meta.len() > MAX_PHOTO_BYTES {
        return Err(format!(
            "photo: {} is larger than {} MB",
            path.display(),
            MAX_PHOTO_BYTES >> 20
        ));
    }
    let bytes = std::fs::read(path).map_err(|e| format!("photo: {}: {e}", path.display()))?;
    if !bytes.starts_with(&[0xFF, 0xD8]) {
        return Err(format!("photo: {} is not a JPEG", path.display()));
    }
    Ok(bytes)
}

/// One demo person: (region, birth date, sequence, name, mobile, classes, first issued year,
/// validity, points, status, authority).
type DemoPerson = (
    &'static str,
    (i32, u8, u8),
    u16,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    u8,
    &'static str,
    &'static str,
);

const BJ: &str = "北京市公安局公安交通管理局";
const SH: &str = "上海市公安局交通警察总队";
const SZ: &str = "深圳市公安局交通警察支队";
const CD: &str = "成都市公安局交通管理局";
const HZ: &str = "杭州市公安局交通警察支队";
const WH: &str = "武汉市公安局交通管理局";

/// Six provinces, normal and abnormal licences, and one person with no licence.
const DEMO: [DemoPerson; 12] = [
    (
        "110105",
        (1990, 3, 7),
        123,
        "张伟",
        "13800138000",
        "C1",
        "2012-06-18",
        "2018-06-18至2028-06-18",
        0,
        "A",
        BJ,
    ),
    (
        "110108",
        (1985, 11, 2),
        456,
        "王芳",
        "13911112222",
        "C1E",
        "2008-04-10",
        "2020-04-10至长期",
        3,
        "A",
        BJ,
    ),
    (
        "310115",
        (1992, 8, 21),
        31,
        "李娜",
        "13661234567",
        "C2",
        "2014-09-01",
        "2020-09-01至2030-09-01",
        0,
        "A",
        SH,
    ),
    (
        "310104",
        (1979, 1, 30),
        278,
        "刘洋",
        "18621345678",
        "A2D",
        "2000-05-16",
        "2016-05-16至长期",
        12,
        "B",
        SH,
    ),
    (
        "440305",
        (1995, 6, 12),
        88,
        "陈静",
        "13510987654",
        "C1",
        "2016-07-20",
        "2022-07-20至2032-07-20",
        6,
        "A",
        SZ,
    ),
    (
        "440304",
        (1988, 12, 25),
        190,
        "杨磊",
        "13823456789",
        "B2",
        "2010-03-03",
        "2016-03-03至2026-03-03",
        0,
        "D",
        SZ,
    ),
    (
        "510107",
        (1993, 4, 4),
        512,
        "赵敏",
        "18980001234",
        "C1",
        "2015-10-10",
        "2021-10-10至2031-10-10",
        2,
        "A",
        CD,
    ),
    (
        "510104",
        (1982, 9, 9),
        64,
        "黄强",
        "13708091234",
        "B1",
        "2004-11-11",
        "2014-11-11至2024-11-11",
        0,
        "M",
        CD,
    ),
    (
        "330106",
        (1998, 2, 14),
        35,
        "周杰",
        "15857101234",
        "C1",
        "2019-08-08",
        "2019-08-08至2025-08-08",
        0,
        "A",
        HZ,
    ),
    (
        "330102",
        (1975, 7, 7),
        420,
        "吴霞",
        "13906541234",
        "C1",
        "1998-01-15",
        "2018-01-15至长期",
        9,
        "H",
        HZ,
    ),
    (
        "420106",
        (1990, 10, 1),
        77,
        "徐明",
        "13971234567",
        "C1",
        "2011-05-05",
        "2021-05-05至2031-05-05",
        0,
        "A",
        WH,
    ),
    (
        "420102",
        (2001, 5, 20),
        16,
        "孙丽",
        "17786501234",
        "",
        "",
        "",
        0,
        "",
        WH,
    ),
];

/// The demo registry. Names, ID numbers (valid check digits), reserved numbers and licences
/// are made up; the mix covers what the app must show: normal, 12 points (B), suspended (D),
/// overdue renewal (M), an unresolved violation (H) and no licence at all.
pub fn demo_entries() -> Vec<RegistryEntry> {
    DEMO.iter()
        .enumerate()
        .map(
            |(
                i,
                &(
                    region,
                    (y, m, d),
                    seq,
                    name,
                    mobile,
                    classes,
                    issued,
                    validity,
                    points,
                    status,
                    authority,
                ),
            )| {
                let birth =
                    Date::from_calendar_date(y, time::Month::try_from(m).expect("demo month"), d)
                        .expect("demo date");
                let id_number = IdNumber::from_parts(region, birth, seq).expect("demo ID parts");
                let name: PersonName = name.parse().expect("demo name");
                let licence = (!classes.is_empty()).then(|| {
                    DrivingLicence::new(LicenceRecord {
                        number: id_number,
                        name: name.clone(),
                        nationality: "中国".into(),
                        address: format!(
                            "{}（演示地址 {}号）",
                            authority.trim_end_matches("公安交通管理局"),
                            i + 1
                        ),
                        first_issued: Date::parse(
                            issued,
                            time::macros::format_description!("[year]-[month]-[day]"),
                        )
                        .expect("demo date"),
                        classes: classes.parse().expect("demo classes"),
                        validity: validity.parse().expect("demo validity"),
                        points: Points::new(u32::from(points)).expect("demo points"),
                        status: status.parse().expect("demo status"),
                        issuing_authority: authority.into(),
                        file_number: format!("{region}{:06}", 100_000 + i * 7919)
                            .parse()
                            .expect("demo file number"),
                    })
                    .expect("demo licence")
                });
                RegistryEntry {
                    id_number,
                    name,
                    reserved_mobile: mobile.parse().expect("demo mobile"),
                    photo: None,
                    licence,
                }
            },
        )
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{RegistryStore, SqliteStore};
    use time::macros::date;

    const TODAY: Date = date!(2026 - 11 - 24);

    #[test]
    fn the_demo_registry_is_valid_and_varied() {
        let entries = demo_entries();
        assert_eq!(entries.len(), 12);
        let statuses: Vec<String> = entries
            .iter()
            .filter_map(|e| e.licence.as_ref())
            .map(|l| l.record().status.to_string())
            .collect();
        assert!(statuses.iter().any(|s| s == "A") && statuses.iter().any(|s| s == "B"));
        assert!(entries.iter().any(|e| e.licence.is_none()));
        let store = SqliteStore::in_memory().unwrap();
        for e in &entries {
            store.put_registry_entry(e).unwrap();
        }
        assert_eq!(store.registry_size().unwrap(), 12);
    }

    #[test]
    fn import_reports_bad_rows_by_line_and_keeps_the_good_ones() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("zhang.jpg"), [0xFF, 0xD8, 0xFF, 0xD9]).unwrap();
        std::fs::write(dir.path().join("fake.jpg"), b"GIF89a").unwrap();
        let id = |seq: u16| {
            IdNumber::from_parts("110105", date!(1990 - 03 - 07), seq)
                .unwrap()
                .to_string()
        };
        let (zhang, li, wang, zhao, qian, sun) =
            (id(123), id(124), id(125), id(126), id(127), id(128));
        // The same number with a wrong check digit.
        let bad_check = format!(
            "{}{}",
            &wang[..17],
            if wang.ends_with('0') { '1' } else { '0' }
        );
        let csv = format!(
            "{CSV_HEADER}\n\
             {zhang},张伟,13800138000,中国,北京市朝阳区建国路88号,2012-06-18,C1,2018-06-18至2028-06-18,0,A,{BJ},110100123456,zhang.jpg\n\
             {li},李四,13800138001,,,,,,,,,,\n\
             {bad_check},王五,13800138005,,,,,,,,,,\n\
             {wang},王五,12345,,,,,,,,,,\n\
             {zhao},赵六,13800138002,中国,北京,2012-06-18,Z9,2018-06-18至2028-06-18,0,A,{BJ},110100123457,\n\
             {qian},钱七,13800138003,,,,,,,,,,fake.jpg\n\
             {sun},孙八,13800138004,中国,北京,2012-06-18,C1,2018-06-18至2028-06-18,0,A,{BJ},110100123456,\n"
        );
        let store = SqliteStore::in_memory().unwrap();
        let report = import_csv(&store, csv.as_bytes(), dir.path(), TODAY).unwrap();
        let lines: Vec<u64> = report.rejected.iter().map(|(l, _)| *l).collect();
        assert_eq!(report.imported, 2, "{report:?}");
        assert_eq!(lines, [4, 5, 6, 7, 8], "{report:?}");
        let reasons: Vec<&str> = report.rejected.iter().map(|(_, r)| r.as_str()).collect();
        assert!(reasons[0].starts_with("id_number:"), "{}", reasons[0]);
        assert!(reasons[1].starts_with("reserved_mobile:"), "{}", reasons[1]);
        assert!(reasons[2].starts_with("classes:"), "{}", reasons[2]);
        assert!(reasons[3].contains("not a JPEG"), "{}", reasons[3]);
        assert!(reasons[4].contains("档案编号"), "{}", reasons[4]);
        let zhang = store
            .registry_entry(&zhang.parse().unwrap())
            .unwrap()
            .unwrap();
        assert_eq!(zhang.photo.as_deref(), Some(&[0xFF, 0xD8, 0xFF, 0xD9][..]));
        assert!(zhang.licence.is_some());
    }

    #[test]
    fn a_file_with_the_wrong_header_is_refused_whole() {
        let store = SqliteStore::in_memory().unwrap();
        let err = import_csv(
            &store,
            "name,id\n张伟,1\n".as_bytes(),
            Path::new("."),
            TODAY,
        )
        .unwrap_err();
        assert!(matches!(err, ImportError::Format(_)));
        assert_eq!(store.registry_size().unwrap(), 0);
    }
}
