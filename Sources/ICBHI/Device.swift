/// The stethoscope or microphone that made a recording: the fifth field of a stem.
///
/// The device determines the native sample rate and bit depth, which is why the
/// preprocessing resamples everything to one rate.
public enum Device: String, Sendable, CaseIterable, Codable {
    case meditron = "Meditron"
    case littC2SE = "LittC2SE"
    case litt3200 = "Litt3200"
    case akgc417L = "AKGC417L"
}
