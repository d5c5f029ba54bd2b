import CSndFile
import CSampleRate
import CFFTW
