//! Parameter Store: where the guard keeps what it deregistered until it is restored.

use super::error::AwsError;
use super::{ScalingApi, call};
use aws_sdk_ssm::types::{Parameter, ParameterTier, ParameterType};

/// A stored record: its parameter name and value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredRecord {
    pub name: String,
    pub value: String,
}

impl ScalingApi {
    /// Every record directly under `path`, every page of them.
    pub async fn records_under(&self, path: &str) -> Result<Vec<StoredRecord>, AwsError> {
        call::every_page(|next_token| async move {
            let output = call::call(&self.budget(), "GetParametersByPath", path, || {
                self.clients
                    .ssm
                    .get_parameters_by_path()
                    .path(path)
                    .recursive(false)
                    .set_next_token(next_token.clone())
                    .send()
            })
            .await?;
            let records = output.parameters().iter().filter_map(stored).collect();
            Ok((records, output.next_token().map(str::to_owned)))
        })
        .await
    }

    /// One record, read again; `None` when it is gone.
    pub async fn record(&self, name: &str) -> Result<Option<StoredRecord>, AwsError> {
        let output = call::call(&self.budget(), "GetParameter", name, || {
            self.clients.ssm.get_parameter().name(name).send()
        })
        .await;
        match output {
            Ok(output) => Ok(output.parameter().and_then(stored)),
            Err(error) if error.is_not_found() => Ok(None),
            Err(error) => Err(error),
        }
    }

    /// Writes a record, replacing one of the same name. Intelligent-Tiering puts it in the
    /// standard tier when it fits (4096 characters) and in the advanced tier (8192) when it does
    /// not, and, unlike an explicit Standard, does not fail on a parameter that is advanced
    /// already (which cannot go back).
    pub async fn put_record(
        &self,
        name: &str,
        value: &str,
        description: &str,
    ) -> Result<(), AwsError> {
        call::call(&self.budget(), "PutParameter", name, || {
            self.clients
                .ssm
                .put_parameter()
                .name(name)
                .value(value)
                .description(description)
                .r#type(ParameterType::String)
                .tier(ParameterTier::IntelligentTiering)
                .overwrite(true)
                .send()
        })
        .await?;
        Ok(())
    }

    /// Deletes a record; one that is not there counts as deleted.
    pub async fn delete_record(&self, name: &str) -> Result<(), AwsError> {
        call::delete(&self.budget(), "DeleteParameter", name, || {
            self.clients.ssm.delete_parameter().name(name).send()
        })
        .await
    }
}

/// A parameter as a record; `None` for one without a name or a value.
fn stored(parameter: &Parameter) -> Option<StoredRecord> {
    Some(StoredRecord {
        name: parameter.name()?.to_owned(),
        value: parameter.value()?.to_owned(),
    })
}
