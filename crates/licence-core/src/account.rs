//! Kinds of account and what each may do (R2.7, R2.10).

use serde::{Deserialize, Serialize};

use crate::Problem;

/// How a person was face-signed (面签).
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    Deserialize,
    strum::IntoStaticStr,
    strum::Display,
    strum::EnumString,
    strum::VariantArray,
    strum::VariantNames,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum FaceSignChannel {
    /// 窗口面签: at a police counter with the original ID (R2.8).
    Counter,
    /// 实人认证: liveness and remote face recognition in the app (R2.1, R2.5).
    OnlineLiveness,
    /// ID card photographed front and back, approved by a reviewer (R2.6).
    ManualIdReview,
}

/// The kind of account. Changes only through the transitions below, never by setting a flag.
/// Its strum name is serde's `kind` tag (`face_signed` …).
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    Deserialize,
    strum::IntoStaticStr,
    strum::VariantNames,
)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum UserKind {
    /// 面签用户: a person whose identity was checked face to face or by face recognition.
    FaceSigned { via: FaceSignChannel },
    /// 在线注册 (实名认证): a person registered by SMS to the reserved number or by Alipay.
    OnlineRegistered,
    /// 单位用户: a company's account, created at a counter by its agent (R2.9).
    Unit,
}

/// The businesses of the 12123 app that the requirements name.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    Deserialize,
    strum::IntoStaticStr,
    strum::Display,
    strum::EnumString,
    strum::VariantArray,
    strum::VariantNames,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum BusinessFunction {
    /// 电子监控违法处理
    ElectronicViolationHandling,
    /// 绑定非本人机动车
    BindOthersVehicle,
    /// 缴纳罚款
    PayFine,
    /// 预选机动车号牌
    PreselectPlate,
    /// 免检申领检验合格标志 (6年免检)
    InspectionExemptSticker,
    /// 机动车检验预约
    InspectionAppointment,
    /// 驾驶证期满换证
    LicenceRenewal,
    /// 驾驶证电子版: the e-licence.
    ElectronicLicence,
    /// 单位名下机动车违法查询
    UnitVehicleViolationQuery,
    /// 机动车二维码生成
    VehicleQrCode,
}

/// Columns of the permission matrix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Audience {
    FaceSigned,
    OnlineRegistered,
    Unit,
}

/// The permission matrix as data: which kinds may use each function.
///
/// R2.7: online-registered users get the seven listed businesses; face-signed users get all
/// personal functions. R2.10: units get their five. 单位名下机动车违法查询 is about a unit's
/// fleet, so it is a unit function only; 机动车二维码生成 is listed for units and, as "all
/// functions", open to face-signed persons too.
const MATRIX: [(BusinessFunction, &[Audience]); 10] = {
    use Audience::*;
    use BusinessFunction::*;
    [
        (ElectronicViolationHandling, &[FaceSigned, OnlineRegistered]),
        (BindOthersVehicle, &[FaceSigned, OnlineRegistered]),
        (PayFine, &[FaceSigned, OnlineRegistered]),
        (PreselectPlate, &[FaceSigned, OnlineRegistered, Unit]),
        (
            InspectionExemptSticker,
            &[FaceSigned, OnlineRegistered, Unit],
        ),
        (InspectionAppointment, &[FaceSigned, OnlineRegistered, Unit]),
        (LicenceRenewal, &[FaceSigned, OnlineRegistered]),
        (ElectronicLicence, &[FaceSigned]),
        (UnitVehicleViolationQuery, &[Unit]),
        (VehicleQrCode, &[FaceSigned, Unit]),
    ]
};

impl BusinessFunction {
    pub const ALL: [BusinessFunction; 10] = {
        let mut all = [BusinessFunction::PayFine; 10];
        let mut i = 0;
        while i < 10 {
            all[i] = MATRIX[i].0;
            i += 1;
        }
        all
    };

    /// The stable name (`pay_fine` …).
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    pub fn name_zh(self) -> &'static str {
        use BusinessFunction::*;
        match self {
            ElectronicViolationHandling => "电子监控违法处理",
            BindOthersVehicle => "绑定非本人机动车",
            PayFine => "缴纳罚款",
            PreselectPlate => "预选机动车号牌",
            InspectionExemptSticker => "免检申领检验合格标志",
            InspectionAppointment => "机动车检验预约",
            LicenceRenewal => "驾驶证期满换证",
            ElectronicLicence => "驾驶证电子版",
            UnitVehicleViolationQuery => "单位名下机动车违法查询",
            VehicleQrCode => "机动车二维码生成",
        }
    }

    pub fn name_en(self) -> &'static str {
        use BusinessFunction::*;
        match self {
            ElectronicViolationHandling => "Handle camera-recorded violations",
            BindOthersVehicle => "Link another person's vehicle",
            PayFine => "Pay a fine",
            PreselectPlate => "Pre-select a number plate",
            InspectionExemptSticker => "Inspection-exempt sticker",
            InspectionAppointment => "Book a vehicle inspection",
            LicenceRenewal => "Renew an expiring licence",
            ElectronicLicence => "Electronic driving licence",
            UnitVehicleViolationQuery => "Violations of the unit's vehicles",
            VehicleQrCode => "Vehicle QR code",
        }
    }
}

/// Why a kind of account may not use a function, and what would change that.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Denial {
    /// An online-registered person must first complete 实人认证 from 我的 (R2.5).
    NeedsFaceSign,
    /// A person's account cannot use a unit function: the unit's agent registers the unit.
    UnitsOnly,
    /// A unit cannot use a personal function; units hold no driving licence (R2.10).
    PersonsOnly,
}

impl Denial {
    pub fn code(self) -> &'static str {
        match self {
            Denial::NeedsFaceSign => "needs_face_sign",
            Denial::UnitsOnly => "units_only",
            Denial::PersonsOnly => "persons_only",
        }
    }

    pub fn message_zh(self) -> &'static str {
        match self {
            Denial::NeedsFaceSign => {
                "在线注册用户暂不能使用此功能。请在“我的”中完成实人认证，成为面签用户后即可使用。"
            }
            Denial::UnitsOnly => {
                "此功能仅供单位用户使用，单位用户须由代理人到公安交管窗口办理面签注册。"
            }
            Denial::PersonsOnly => "此功能仅供个人用户使用，单位用户不持有驾驶证。",
        }
    }

    pub fn message_en(self) -> &'static str {
        match self {
            Denial::NeedsFaceSign => "Online-registered users cannot use this yet. Complete identity verification (实人认证) under Me to become a face-signed user.",
            Denial::UnitsOnly => "Only unit accounts can use this; a unit's agent registers it at a traffic police counter.",
            Denial::PersonsOnly => "Only personal accounts can use this; units hold no driving licence.",
        }
    }
}

/// A transition between kinds that is not allowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AccountError {
    #[error("This account is already face-signed")]
    AlreadyFaceSigned,
    #[error("A unit account cannot be face-signed: face-signing is for persons")]
    UnitCannotFaceSign,
}

impl Problem for AccountError {
    fn code(&self) -> &'static str {
        match self {
            AccountError::AlreadyFaceSigned => "already_face_signed",
            AccountError::UnitCannotFaceSign => "unit_cannot_face_sign",
        }
    }

    fn message_zh(&self) -> String {
        match self {
            AccountError::AlreadyFaceSigned => "该账号已是面签用户，无需再次认证".into(),
            AccountError::UnitCannotFaceSign => "单位账号不能办理个人实人认证".into(),
        }
    }
}

impl UserKind {
    /// The kind's name, serde's `kind` tag (`face_signed`, `online_registered`, `unit`).
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    fn audience(self) -> Audience {
        match self {
            UserKind::FaceSigned { .. } => Audience::FaceSigned,
            UserKind::OnlineRegistered => Audience::OnlineRegistered,
            UserKind::Unit => Audience::Unit,
        }
    }

    /// Whether this kind of account may use `function`.
    pub fn permits(self, function: BusinessFunction) -> bool {
        self.denial(function).is_none()
    }

    /// `None` if permitted; otherwise why not and what would change it.
    pub fn denial(self, function: BusinessFunction) -> Option<Denial> {
        let allowed = MATRIX
            .iter()
            .find(|(f, _)| *f == function)
            .map(|(_, who)| *who)
            .unwrap_or(&[]);
        let me = self.audience();
        if allowed.contains(&me) {
            return None;
        }
        Some(match me {
            Audience::Unit => Denial::PersonsOnly,
            _ if allowed == [Audience::Unit] => Denial::UnitsOnly,
            _ => Denial::NeedsFaceSign,
        })
    }

    /// 实人认证 / 窗口面签 of a person: online-registered → face-signed.
    pub fn face_sign(self, via: FaceSignChannel) -> Result<UserKind, AccountError> {
        match self {
            UserKind::OnlineRegistered => Ok(UserKind::FaceSigned { via }),
            UserKind::FaceSigned { .. } => Err(AccountError::AlreadyFaceSigned),
            UserKind::Unit => Err(AccountError::UnitCannotFaceSign),
        }
    }

    pub fn name_zh(self) -> &'static str {
        match self {
            UserKind::FaceSigned { .. } => "面签用户",
            UserKind::OnlineRegistered => "在线注册用户",
            UserKind::Unit => "单位用户",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use BusinessFunction::*;

    const FACE: UserKind = UserKind::FaceSigned {
        via: FaceSignChannel::OnlineLiveness,
    };

    #[test]
    fn online_registered_users_get_exactly_the_seven_businesses_of_r2_7() {
        let allowed: Vec<_> = BusinessFunction::ALL
            .into_iter()
            .filter(|f| UserKind::OnlineRegistered.permits(*f))
            .collect();
        assert_eq!(
            allowed,
            [
                ElectronicViolationHandling,
                BindOthersVehicle,
                PayFine,
                PreselectPlate,
                InspectionExemptSticker,
                InspectionAppointment,
                LicenceRenewal
            ]
        );
    }

    #[test]
    fn units_get_exactly_the_five_of_r2_10_and_no_licence() {
        let allowed: Vec<_> = BusinessFunction::ALL
            .into_iter()
            .filter(|f| UserKind::Unit.permits(*f))
            .collect();
        assert_eq!(
            allowed,
            [
                PreselectPlate,
                InspectionExemptSticker,
                InspectionAppointment,
                UnitVehicleViolationQuery,
                VehicleQrCode
            ]
        );
        assert_eq!(
            UserKind::Unit.denial(ElectronicLicence),
            Some(Denial::PersonsOnly)
        );
    }

    #[test]
    fn face_signed_users_get_every_personal_function() {
        for f in BusinessFunction::ALL {
            assert_eq!(FACE.permits(f), f != UnitVehicleViolationQuery, "{f:?}");
        }
        assert_eq!(
            FACE.denial(UnitVehicleViolationQuery),
            Some(Denial::UnitsOnly)
        );
    }

    #[test]
    fn the_e_licence_asks_online_users_to_face_sign() {
        let denial = UserKind::OnlineRegistered
            .denial(ElectronicLicence)
            .unwrap();
        assert_eq!(denial, Denial::NeedsFaceSign);
        assert_eq!(denial.code(), "needs_face_sign");
        assert!(denial.message_zh().contains("实人认证"));
    }

    #[test]
    fn upgrading_is_a_transition_with_its_channel() {
        for via in [
            FaceSignChannel::Counter,
            FaceSignChannel::OnlineLiveness,
            FaceSignChannel::ManualIdReview,
        ] {
            let upgraded = UserKind::OnlineRegistered.face_sign(via).unwrap();
            assert_eq!(upgraded, UserKind::FaceSigned { via });
            assert!(upgraded.permits(ElectronicLicence));
        }
        assert_eq!(
            FACE.face_sign(FaceSignChannel::Counter),
            Err(AccountError::AlreadyFaceSigned)
        );
        assert_eq!(
            UserKind::Unit
                .face_sign(FaceSignChannel::Counter)
                .unwrap_err()
                .code(),
            "unit_cannot_face_sign"
        );
    }

    #[test]
    fn serialises_with_a_kind_tag() {
        let json = serde_json::to_string(&UserKind::FaceSigned {
            via: FaceSignChannel::Counter,
        })
        .unwrap();
        assert_eq!(json, r#"{"kind":"face_signed","via":"counter"}"#);
        assert_eq!(
            serde_json::to_string(&UserKind::Unit).unwrap(),
            r#"{"kind":"unit"}"#
        );
    }
}
