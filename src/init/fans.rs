//! Fans and gains, as torch.nn.init defines them.

use crate::error::{Error, Result};

/// `(fan_in, fan_out)`: `shape[1] * rf` and `shape[0] * rf`, where the receptive field `rf`
/// is the product of dims 2 and up. torch's rule and error.
pub fn fan_in_and_fan_out(shape: &[usize]) -> Result<(usize, usize)> {
    if shape.len() < 2 {
        return Err(Error::Value(
            "Fan in and fan out can not be computed for tensor with fewer than 2 dimensions".into(),
        ));
    }
    let rf = shape[2..].iter().try_fold(1usize, |a, &d| a.checked_mul(d));
    let rf = rf.ok_or_else(|| Error::Overflow("receptive field size overflows".into()))?;
    let fan_in = shape[1].checked_mul(rf);
    let fan_out = shape[0].checked_mul(rf);
    match (fan_in, fan_out) {
        (Some(i), Some(o)) => Ok((i, o)),
        _ => Err(Error::Overflow("fan overflows".into())),
    }
}

/// Which fan kaiming uses. torch lower-cases the mode before checking it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FanMode {
    FanIn,
    FanOut,
}

impl FanMode {
    pub fn parse(mode: &str) -> Result<Self> {
        match mode.to_lowercase().as_str() {
            "fan_in" => Ok(FanMode::FanIn),
            "fan_out" => Ok(FanMode::FanOut),
            m => Err(Error::Value(format!(
                "Mode {m} not supported, please use one of ['fan_in', 'fan_out']"
            ))),
        }
    }
}

pub fn correct_fan(shape: &[usize], mode: FanMode) -> Result<usize> {
    let (i, o) = fan_in_and_fan_out(shape)?;
    Ok(match mode {
        FanMode::FanIn => i,
        FanMode::FanOut => o,
    })
}

/// torch.nn.init.calculate_gain. `param` is the negative slope of leaky_relu (default 0.01);
/// the binding rejects non-numbers with torch's message before calling this.
pub fn calculate_gain(nonlinearity: &str, param: Option<f64>) -> Result<f64> {
    const LINEAR: [&str; 7] = [
        "linear",
        "conv1d",
        "conv2d",
        "conv3d",
        "conv_transpose1d",
        "conv_transpose2d",
        "conv_transpose3d",
    ];
    if LINEAR.contains(&nonlinearity) || nonlinearity == "sigmoid" {
        return Ok(1.0);
    }
    match nonlinearity {
        "tanh" => Ok(5.0 / 3.0),
        "relu" => Ok(2f64.sqrt()),
        "leaky_relu" => {
            let slope = param.unwrap_or(0.01);
            Ok((2.0 / (1.0 + slope * slope)).sqrt())
        }
        "selu" => Ok(3.0 / 4.0),
        _ => Err(Error::Value(format!(
            "Unsupported nonlinearity {nonlinearity}"
        ))),
    }
}

/// The std of xavier (Glorot): `gain * sqrt(2 / (fan_in + fan_out))`.
pub fn xavier_std(shape: &[usize], gain: f64) -> Result<f64> {
    crate::error::check_finite("gain", gain)?;
    let (i, o) = fan_in_and_fan_out(shape)?;
    Ok(gain * (2.0 / (i as f64 + o as f64)).sqrt())
}

/// The std of kaiming (He): `calculate_gain(nonlinearity, a) / sqrt(fan)`.
pub fn kaiming_std(shape: &[usize], a: f64, mode: &str, nonlinearity: &str) -> Result<f64> {
    let mode = FanMode::parse(mode)?;
    let fan = correct_fan(shape, mode)?;
    crate::error::check_finite("a", a)?;
    let gain = calculate_gain(nonlinearity, Some(a))?;
    Ok(gain / (fan as f64).sqrt())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fans_follow_torch() {
        assert_eq!(fan_in_and_fan_out(&[3, 5]).unwrap(), (5, 3));
        assert_eq!(fan_in_and_fan_out(&[8, 4, 3, 3]).unwrap(), (36, 72));
        assert!(fan_in_and_fan_out(&[3]).is_err());
    }

    #[test]
    fn gains_follow_torch() {
        assert_eq!(calculate_gain("conv2d", None).unwrap(), 1.0);
        assert_eq!(calculate_gain("tanh", None).unwrap(), 5.0 / 3.0);
        assert_eq!(
            calculate_gain("leaky_relu", None).unwrap(),
            (2.0 / 1.0001f64).sqrt()
        );
        assert_eq!(
            calculate_gain("gelu", None).unwrap_err(),
            Error::Value("Unsupported nonlinearity gelu".into())
        );
    }
}
