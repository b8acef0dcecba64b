//! Media management: `DeleteMedia` and `DescribeMediaInfos`, for limits enforced after upload.
//!
//! What VOD answers for a `FileId` that does not exist (any more) is undocumented for
//! `DeleteMedia`: the SDKs list `ResourceNotFound` for it, `ResourceNotFound.FileNotExist` and
//! `InvalidParameterValue.FileId` for sibling actions. All of them mean the media is gone, which
//! is what a delete wants, so [`VodApi::delete_media`] reports them as [`Deleted::AlreadyGone`].
//! `DescribeMediaInfos` lists unknown ids in `NotExistFileIdSet` instead of failing.

use serde::{Deserialize, Serialize};

use super::{ApiCredentials, Budget, Ignored, VodApi, VodApiError};
use crate::vod::callback::{MediaBasicInfo, MetaData};

/// How a `DeleteMedia` ended well.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Deleted {
    /// VOD deleted the media now.
    Now,
    /// VOD says there is no such media: deleted before, or never there.
    AlreadyGone,
}

/// One file as `DescribeMediaInfos` describes it (the filters `basicInfo` and `metaData`).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct MediaInfo {
    pub file_id: Option<String>,
    pub basic_info: Option<MediaBasicInfo>,
    pub meta_data: Option<MetaData>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct DeleteMediaBody<'a> {
    file_id: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct DescribeMediaInfosBody<'a> {
    file_ids: [&'a str; 1],
    filters: [&'static str; 2],
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct DescribeMediaInfosAnswer {
    #[serde(default)]
    media_info_set: Option<Vec<MediaInfo>>,
}

impl VodApi {
    /// `DeleteMedia` of everything of `file_id`: the original, every processed file and cover
    /// (no `DeleteParts`). Throttling and internal errors are retried within `budget`.
    pub(crate) async fn delete_media(
        &self,
        credentials: &ApiCredentials,
        file_id: &str,
        budget: Budget,
    ) -> Result<Deleted, VodApiError> {
        let body = DeleteMediaBody { file_id };
        match self
            .call::<_, Ignored>(credentials, "DeleteMedia", &body, budget)
            .await
        {
            Ok(_) => Ok(Deleted::Now),
            Err(error) if is_gone(&error) => Ok(Deleted::AlreadyGone),
            Err(error) => Err(error),
        }
    }

    /// `DescribeMediaInfos` of one file, with its basic information and metadata; `None` when
    /// VOD does not know the file.
    pub(crate) async fn describe_media(
        &self,
        credentials: &ApiCredentials,
        file_id: &str,
        budget: Budget,
    ) -> Result<Option<MediaInfo>, VodApiError> {
        let body = DescribeMediaInfosBody {
            file_ids: [file_id],
            filters: ["basicInfo", "metaData"],
        };
        let (answer, _): (DescribeMediaInfosAnswer, _) = self
            .call(credentials, "DescribeMediaInfos", &body, budget)
            .await?;
        Ok(answer
            .media_info_set
            .unwrap_or_default()
            .into_iter()
            .find(|info| info.file_id.as_deref() == Some(file_id)))
    }
}

/// Whether VOD answered that there is no such media.
fn is_gone(error: &VodApiError) -> bool {
    error.code().is_some_and(|code| {
        code.starts_with("ResourceNotFound") || code == "InvalidParameterValue.FileId"
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn api_error(code: &str) -> VodApiError {
        VodApiError::Api {
            action: "DeleteMedia",
            code: code.to_owned(),
            message: String::new(),
            request_id: String::new(),
        }
    }

    #[test]
    fn not_found_in_any_spelling_means_gone() {
        for code in [
            "ResourceNotFound",
            "ResourceNotFound.FileNotExist",
            "InvalidParameterValue.FileId",
        ] {
            assert!(is_gone(&api_error(code)), "{code}");
        }
        for code in [
            "InvalidParameterValue",
            "UnauthorizedOperation",
            "InternalError",
        ] {
            assert!(!is_gone(&api_error(code)), "{code}");
        }
    }

    #[test]
    fn bodies_are_the_documented_shapes() {
        let delete = serde_json::to_string(&DeleteMediaBody { file_id: "528" }).unwrap();
        assert_eq!(delete, r#"{"FileId":"528"}"#);
        let describe = serde_json::to_string(&DescribeMediaInfosBody {
            file_ids: ["528"],
            filters: ["basicInfo", "metaData"],
        })
        .unwrap();
        assert_eq!(
            describe,
            r#"{"FileIds":["528"],"Filters":["basicInfo","metaData"]}"#
        );
        let answer: DescribeMediaInfosAnswer = serde_json::from_str(
            r#"{"MediaInfoSet":[{"FileId":"528","BasicInfo":{"Type":"mp4"},
                "MetaData":{"Size":10,"Duration":1.5,"Container":"mov,mp4"}}],
                "NotExistFileIdSet":null}"#,
        )
        .unwrap();
        let info = &answer.media_info_set.unwrap()[0];
        assert_eq!(info.meta_data.as_ref().unwrap().size, Some(10));
    }
}
