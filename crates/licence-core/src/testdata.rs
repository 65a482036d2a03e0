//! A sample licence (feature `testdata`) for other crates' tests and benchmarks, so that each
//! does not write its own. Change fields with struct update syntax:
//! `LicenceRecord { status: "HI".parse().unwrap(), ..sample_record() }`.

use time::macros::date;

use crate::licence::LicenceRecord;
use crate::{DrivingLicence, IdNumber, LicenceStatus, Points};

/// 张伟, born 1990-03-07 in Beijing, C1, first licensed 2012, 10-year validity to 2028, no
/// points, status normal.
pub fn sample_record() -> LicenceRecord {
    LicenceRecord {
        number: IdNumber::from_parts("110105", date!(1990 - 03 - 07), 123).expect("valid parts"),
        name: "张伟".parse().expect("valid name"),
        nationality: "中国".into(),
        address: "北京市朝阳区建国路88号".into(),
        first_issued: date!(2012 - 06 - 18),
        classes: "C1".parse().expect("valid classes"),
        validity: "2018-06-18至2028-06-18".parse().expect("valid validity"),
        points: Points::new(0).expect("in range"),
        status: LicenceStatus::NORMAL,
        issuing_authority: "北京市公安局公安交通管理局".into(),
        file_number: "110100123456".parse().expect("12 digits"),
    }
}

/// The sample as a checked licence.
pub fn sample_licence() -> DrivingLicence {
    DrivingLicence::new(sample_record()).expect("the sample is consistent")
}
