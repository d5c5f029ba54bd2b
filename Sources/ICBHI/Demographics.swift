/// One row of `demographic_info.txt`: what the archive knows about a patient.
///
/// Adults have a BMI, children a weight and height; the file writes `NA` for what is
/// missing, which becomes `nil` here.
public struct Demographics: Sendable, Equatable, Codable {
    /// Age in years (fractional for infants, e.g. 0.75).
    public var age: Double?
    /// `"M"` or `"F"` as written in the file.
    public var sex: String?
    /// Body-mass index in kg/m², adults only.
    public var adultBMI: Double?
    /// Weight in kg, children only.
    public var childWeight: Double?
    /// Height in cm, children only.
    public var childHeight: Double?

    public init(age: Double?, sex: String?, adultBMI: Double?, childWeight: Double?, childHeight: Double?) {
        self.age = age
        self.sex = sex
        self.adultBMI = adultBMI
        self.childWeight = childWeight
        self.childHeight = childHeight
    }
}
